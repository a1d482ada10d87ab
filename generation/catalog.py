"""The model catalog: what a customer can ask for, from the registry, with this tenant's price and
the generation workers live for each model (``GET /api/v2/models``, ``GET /v1/models``)."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view
from imgplatform import redisconn
from imgplatform.health import worker_heartbeat
from redis.exceptions import RedisError
from rest_framework import serializers
from rest_framework.response import Response

from accounts.api import TenantAPIView
from accounts.models import Scope, Tenant
from generation import charging
from generation.engine.registry import ModelSpec

log = logging.getLogger(__name__)


def live_workers_by_queue() -> dict[str, int] | None:
    """Generation workers with a recent heartbeat, counted per queue; None when Redis is away."""
    from rq import Worker

    client = redisconn.unshared_connection("default")  # rq changes the timeouts of the pool it gets
    try:
        workers = Worker.all(connection=client)
    except RedisError as exc:
        log.warning("could not list workers: %s", exc)
        return None
    finally:
        client.close()
    now = timezone.now()
    counts: dict[str, int] = {}
    for worker in workers:
        if worker_heartbeat(worker, now=now)[1]:
            for name in worker.queue_names():
                counts[name] = counts.get(name, 0) + 1
    return counts


def model_entry(spec: ModelSpec, *, default: str, unit_price: Decimal, currency: str, workers: int | None) -> dict:
    return {
        "name": spec.name,
        "version": spec.revision or None,
        "family": spec.family,
        "default": spec.name == default,
        "sizes": [{"aspect_ratio": ratio, "width": w, "height": h} for ratio, (w, h) in spec.sizes.items()],
        "aspect_ratios": list(spec.sizes),
        "negative_prompt": spec.supports_negative_prompt,
        "steps": {"min": spec.steps_range[0], "max": spec.steps_range[1], "default": spec.steps},
        "guidance": {"min": spec.guidance_range[0], "max": spec.guidance_range[1], "default": spec.guidance},
        "price_per_image": f"{unit_price * spec.price:.5f}",
        "price_factor": spec.price_factor,
        "currency": currency,
        "workers": workers,
        "available": bool(workers),
    }


def model_catalog(tenant: Tenant, *, default: str) -> list[dict[str, Any]]:
    unit_price, currency = charging.biller().next_image_price(tenant)  # the plan's price (billing)
    live = live_workers_by_queue()
    return [
        model_entry(
            spec,
            default=default,
            unit_price=unit_price,
            currency=currency,
            workers=None if live is None else live.get(spec.queue, 0),
        )
        for spec in sorted(settings.MODEL_REGISTRY.values(), key=lambda s: s.name)
    ]


# --- API -------------------------------------------------------------------------------------
class _RangeSerializer(serializers.Serializer):
    min = serializers.FloatField()
    max = serializers.FloatField()
    default = serializers.FloatField()


class _SizeSerializer(serializers.Serializer):
    aspect_ratio = serializers.CharField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()


class ModelSerializer(serializers.Serializer):
    name = serializers.CharField()
    version = serializers.CharField(allow_null=True, help_text="The pinned revision, if the registry pins one")
    family = serializers.CharField()
    default = serializers.BooleanField(help_text="The model of this key's project when a request names none")
    sizes = _SizeSerializer(many=True, help_text="The size made for each aspect_ratio")
    aspect_ratios = serializers.ListField(child=serializers.CharField())
    negative_prompt = serializers.BooleanField(help_text="false: neg_text is a 400")
    steps = _RangeSerializer(help_text="num_inference_steps bounds")
    guidance = _RangeSerializer(help_text="guidance_scale bounds")
    price_per_image = serializers.CharField(
        help_text="Your plan's price of your next image, for this model; an image above 1,048,576 pixels counts "
        "as ceil(pixels / 1,048,576) images"
    )
    price_factor = serializers.CharField(help_text="This model's price relative to the plan's price per image")
    currency = serializers.CharField()
    workers = serializers.IntegerField(
        allow_null=True, help_text="Live generation workers for it (null: unknown, Redis away)"
    )
    available = serializers.BooleanField(
        help_text="false: no worker runs it now; a request for it is accepted and waits, queued, until one does"
    )


class ModelListSerializer(serializers.Serializer):
    models = ModelSerializer(many=True)


@extend_schema_view(get=extend_schema(operation_id="model_list", summary="The models you can ask for"))
class ModelListView(TenantAPIView):
    required_scope = Scope.READ

    @extend_schema(responses={200: ModelListSerializer})
    def get(self, request):
        default = self.client.project.model or settings.DEFAULT_MODEL
        return Response({"models": model_catalog(self.tenant, default=default)})
