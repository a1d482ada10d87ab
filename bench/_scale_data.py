"""The data of bench/scale.py: N tasks over 90 days written with INSERT ... SELECT over
generate_series, in time order, in batches. Not a benchmark itself.

What a batch writes, as the real code would have:
- tasks: 95% of one tenant (three projects), the rest spread over four others; models sdxl-turbo,
  flux-schnell, sdxl, tiny-flux (price factor 2); 84.5% succeeded with 1-4 images, 1% succeeded
  with one image withheld by moderation (partial), 3% prompts blocked (``moderation_report`` as the
  prompt check writes it: decision, categories, rules, matches), 1.5% images blocked, 4%
  generation_failed, 1% service_unavailable, 0.8% worker_lost, 3.5% cancelled, 0.7% cancelled by a
  suspension; the last minutes queued and running; ``timings_ms`` with every stage the worker
  records (lognormal queue waits and generation times per model);
- images, delivered and withheld, with their moderation JSON;
- for each succeeded task, what billing.services.task_bill writes: a ledger row priced at its place
  in the tenant's month on the default plan's tiers (x the model's price factor), one line per tier
  it falls in, the daily and monthly rollups; the task's charge;
- invoices for the months that ended (billing.invoicing.billing_period_close)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection
from django.utils import timezone

SPAN = timedelta(days=90)
BATCH = 200_000
RARE_WORD, UNCOMMON_WORD, COMMON_WORD = "axolotl", "zeppelin", "lighthouse"
SUBJECTS = ["a lighthouse", "a red fox", "an astronaut", "a portrait of an old sailor", "a cat", "a dragon",
            "a mountain village", "a cyberpunk street", "a bowl of ramen", "a vintage car", "a forest spirit",
            "a castle", "a robot gardener", "a koi pond", "a city skyline", "a sailing ship", "a hummingbird",
            "a desert caravan", "a snowy cabin", "a jazz musician"]  # fmt: skip
SETTINGS = ["at dusk", "in the rain", "under the northern lights", "at golden hour", "in a misty forest",
            "on the moon", "by the sea", "in a neon city", "in winter", "at night"]  # fmt: skip
STYLES = ["oil painting", "watercolor", "photorealistic", "isometric 3d render", "pencil sketch",
          "cinematic lighting", "low poly", "art nouveau", "ukiyo-e print", "digital art",
          "macro photography"]  # fmt: skip
EXTRAS = ["highly detailed", "8k", "soft light", "wide angle", "bokeh", "dramatic clouds", "pastel colors", "", "", ""]
KINDS = [("'succeeded'", 0.845), ("'partial'", 0.01), ("'prompt'", 0.03), ("'image'", 0.015),
         ("'generation_failed'", 0.04), ("'service_unavailable'", 0.01), ("'worker_lost'", 0.008),
         ("'cancelled'", 0.035), ("'tenant_suspended'", 0.007)]  # fmt: skip
MODELS = [("'sdxl-turbo'", 0.5), ("'flux-schnell'", 0.3), ("'sdxl'", 0.15), ("'tiny-flux'", 0.05)]
MODEL_MS = {"sdxl-turbo": 900, "flux-schnell": 2500, "sdxl": 6000, "tiny-flux": 80}
PROMPT_BLOCKS = [
    (["sexual"], ["terms"]),
    (["violence"], ["gore.body_part_with_violent_act"]),
    (["sexual", "minors"], ["minors.minor_with_sexualising", "terms"]),
    (["hate"], ["hate.protected_group_with_dehumanising"]),
    (["self_harm"], ["self_harm.method_with_person"]),
]
IMAGE_LABELS = [["FEMALE_BREAST_EXPOSED"], ["BUTTOCKS_EXPOSED"], ["FEMALE_BREAST_EXPOSED", "BUTTOCKS_EXPOSED"]]
DETAILS = {
    "moderation_blocked_prompt": "The prompt was blocked by moderation.",
    "moderation_blocked_image": "The generated images were blocked by moderation: image 0: FEMALE_BREAST_EXPOSED.",
    "generation_failed": "Generation failed (RuntimeError).",
    "service_unavailable": "The job queue is unavailable.",
    "worker_lost": "The worker running this task was lost 3 times.",
    "tenant_suspended": "The account was suspended before this task started.",
}


def _q(value) -> str:
    """A SQL literal (values here are the script's own constants)."""
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return repr(value)


def _pick(var: str, choices: list[tuple[str, float]]) -> str:
    """A CASE choosing among SQL values by weight with the uniform random column ``var``."""
    total, parts = 0.0, []
    for value, weight in choices[:-1]:
        total += weight
        parts.append(f"WHEN {var} < {total!r} THEN {value}")
    return f"(CASE {' '.join(parts)} ELSE {choices[-1][0]} END)"


def _element(values: list, var: str) -> str:
    array = "ARRAY[" + ", ".join(_q(v) for v in values) + "]"
    return f"({array})[1 + floor({var} * {len(values)})::int]"


def _jsonb(value) -> str:
    return _q(json.dumps(value)) + "::jsonb"


@dataclass
class Slots:
    """Where a task goes: (tenant, project, key) with its share of the tasks."""

    rows: list[tuple[int, int, int, float]]

    def column(self, index: int, var: str = "r_slot") -> str:
        return _pick(var, [(str(row[index]), row[3]) for row in self.rows])


def _prompt_report(categories: list[str], rules: list[str]) -> dict:
    matches = [{"category": c, "term": "...", "field": "text_data", "rule": r, "words": ["..."]}
               for c, r in zip(categories, rules * len(categories), strict=False)]  # fmt: skip
    return {"prompt": {"decision": "block", "categories": categories, "rules": sorted(rules), "matches": matches}}


PASS_PROMPT = {"prompt": {"decision": "pass", "categories": [], "rules": [], "matches": []}}
DETECTORS = {"nudity": "nudenet 3.4 (320n)", "policy": "default"}


def _flagged_moderation(labels: list[str]) -> dict:
    return {"decision": "block", "flagged": labels, "thresholds": {label: 0.45 for label in labels},
            "scores": {**{label: 0.91 for label in labels}, "FACE_FEMALE": 0.3}}  # fmt: skip


def base_sql(slots: Slots) -> str:
    """The batch's random draws, tenant, model and kind of outcome."""
    randoms = ", ".join(f"random() AS {name}" for name in (
        "r_slot", "r_model", "r_kind", "r_n", "r_mod", "r_w1", "r_w2", "r_w3", "r_w4", "r_rare", "r_user",
        "r_size", "r_cat", "r_label", "r_x", "r_t1", "r_t2", "r_half"))  # fmt: skip
    normal = "sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())"
    return f"""
    WITH base AS (
      SELECT g, md5('scale-' || g)::uuid AS id, {randoms}, {normal} AS z1, {normal} AS z2,
        %(start)s::timestamptz
          + (g - %(first)s + random()) / %(count)s * (%(end)s::timestamptz - %(start)s::timestamptz) AS created_at
      FROM generate_series(%(first)s, %(last)s) AS g
    ), drawn AS (
      SELECT b.*,
        CASE WHEN created_at > %(now)s::timestamptz - interval '60 seconds' THEN 'queued'
             WHEN created_at > %(now)s::timestamptz - interval '150 seconds' THEN 'running'
             ELSE {_pick("r_kind", KINDS)} END AS kind,
        {slots.column(0)} AS tenant_id, {slots.column(1)} AS project_id, {slots.column(2)} AS api_key_id,
        {_pick("r_model", MODELS)} AS model,
        CASE WHEN r_size < 0.1 THEN 1344 ELSE 1024 END AS width, CASE WHEN r_size < 0.1 THEN 768 ELSE 1024 END AS height
      FROM base b
    )"""


def shaped_sql() -> str:
    """States, codes, stage times (ms) and what the run left, from the draws."""
    model_ms = "CASE model " + " ".join(f"WHEN {_q(m)} THEN {ms}" for m, ms in MODEL_MS.items()) + " END"
    return f""", shaped AS (
      SELECT d.*,
        CASE WHEN kind = 'partial' THEN greatest(2, 1 + floor(r_n * 4)::int) ELSE 1 + floor(r_n * 4)::int END AS n,
        CASE WHEN kind IN ('succeeded', 'partial') THEN 'succeeded' WHEN kind IN ('queued', 'running') THEN kind
             WHEN kind IN ('cancelled', 'tenant_suspended') THEN 'cancelled' ELSE 'failed' END AS state,
        CASE kind WHEN 'prompt' THEN 'moderation_blocked_prompt' WHEN 'image' THEN 'moderation_blocked_image'
             WHEN 'generation_failed' THEN kind WHEN 'service_unavailable' THEN kind WHEN 'worker_lost' THEN kind
             WHEN 'tenant_suspended' THEN kind ELSE '' END AS error_code,
        kind IN ('succeeded', 'partial', 'image') AS ran,
        kind IN ('succeeded', 'partial', 'image', 'generation_failed', 'worker_lost', 'running')
          OR (kind = 'cancelled' AND r_half < 0.5) AS started,
        CASE WHEN kind IN ('partial', 'image') THEN 1 ELSE 0 END AS withheld,
        CASE model WHEN 'tiny-flux' THEN 2 ELSE 1 END AS factor,
        round((0.2 + r_t1 * 1.3)::numeric, 2) AS t_prompt,
        round(least(exp(6.0 + 1.1 * z1), CASE WHEN kind = 'running' THEN 20000 ELSE 3600000 END)::numeric, 1)
          AS t_queue,
        round(({model_ms} * power(1 + floor(r_n * 4), 0.7) * exp(0.25 * z2))::numeric, 1) AS t_gen,
        round((60 + 120 * r_t2)::numeric, 1) AS t_mod,
        round((20 + 70 * r_x)::numeric, 1) AS t_store
      FROM drawn d
    )"""


def _prompt_text() -> str:
    return (f"{_element(SUBJECTS, 'r_w1')} || ' ' || {_element(SETTINGS, 'r_w2')} || ', ' || "
            f"{_element(STYLES, 'r_w3')} || ', ' || {_element(EXTRAS, 'r_w4')} || "
            f"CASE WHEN r_rare < 0.0001 THEN ' {RARE_WORD}' WHEN r_rare < 0.0011 THEN ' {UNCOMMON_WORD}' "
            "ELSE '' END")  # fmt: skip


def _report_sql() -> str:
    blocks = _pick("r_cat", [(_jsonb(_prompt_report(c, r)), 1 / len(PROMPT_BLOCKS)) for c, r in PROMPT_BLOCKS])
    after_run = (f"{_jsonb(PASS_PROMPT)} || jsonb_build_object('detectors', {_jsonb(DETECTORS)}, "
                 f"'images_withheld', withheld)")  # fmt: skip
    return f"CASE WHEN kind = 'prompt' THEN {blocks} WHEN ran THEN {after_run} ELSE {_jsonb(PASS_PROMPT)} END"


def _timings_sql() -> str:
    total = "t_queue + t_gen + t_mod + t_store"
    return f"""CASE WHEN ran THEN jsonb_build_object('moderation_prompt', t_prompt, 'queue_wait', t_queue,
          'generation', t_gen, 'generation_unet', round(t_gen * 0.86, 1), 'generation_vae', round(t_gen * 0.09, 1),
          'moderation', t_mod, 'storage', t_store, 'total', {total})
        WHEN started THEN jsonb_build_object('moderation_prompt', t_prompt, 'queue_wait', t_queue)
        ELSE jsonb_build_object('moderation_prompt', t_prompt) END"""


def _finished_sql() -> str:
    ms = """CASE kind WHEN 'prompt' THEN t_prompt WHEN 'service_unavailable' THEN 40
        WHEN 'generation_failed' THEN t_queue + t_gen / 2 WHEN 'worker_lost' THEN t_queue + 180000
        WHEN 'cancelled' THEN t_queue / 2 WHEN 'tenant_suspended' THEN t_queue * 0.7
        ELSE t_queue + t_gen + t_mod + t_store END"""
    return f"CASE WHEN state IN ('queued', 'running') THEN NULL ELSE created_at + ({ms}) * interval '1 millisecond' END"


def tasks_table_sql(slots: Slots) -> str:
    details = "CASE error_code " + " ".join(f"WHEN {_q(c)} THEN {_q(d)}" for c, d in DETAILS.items()) + " ELSE '' END"
    return f"""DROP TABLE IF EXISTS bench_t; CREATE TEMP TABLE bench_t AS {base_sql(slots)} {shaped_sql()}
    SELECT id, g, kind, state, {_prompt_text()} AS text_data, '' AS neg_text, n AS num_images,
      floor(r_x * 4294967295)::bigint AS seed, r_half < 0.2 AS seed_given,
      CASE WHEN kind = 'partial' OR r_mod < 0.05 THEN 'partial' ELSE 'strict' END AS moderation,
      CASE WHEN r_user < 0.3 THEN 'user-' || floor(r_user / 0.3 * 500)::int ELSE '' END AS end_user,
      model, model || '-v1' AS model_version,
      CASE WHEN ran THEN jsonb_build_object('scheduler', 'EulerAncestralDiscreteScheduler', 'steps', 4, 'guidance', 0.0,
        'device', 'cuda:0', 'dtype', 'float16', 'batches', jsonb_build_array(n), 'width', width, 'height', height)
        ELSE '{{}}'::jsonb END AS run_info,
      {_timings_sql()} AS timings_ms,
      CASE WHEN started THEN 1 ELSE 0 END AS attempts,
      CASE WHEN started THEN 'gpu-' || (g %% 8) || '@host-' || (g %% 3) ELSE '' END AS worker_name,
      CASE WHEN kind IN ('prompt') THEN '' ELSE substr(md5('job' || g), 1, 32) END AS job_id,
      error_code, {details} AS error_detail, {_report_sql()} AS moderation_report,
      CASE WHEN state = 'succeeded' THEN n - withheld ELSE 0 END AS images_delivered, 0::numeric AS charge,
      created_at, CASE WHEN started THEN created_at + t_queue * interval '1 millisecond' END AS started_at,
      {_finished_sql()} AS finished_at,
      tenant_id, project_id, api_key_id, withheld, factor, width, height, r_label,
      CASE WHEN kind = 'prompt' THEN '' ELSE 'postpaid' END AS billing_mode,
      CASE WHEN kind = 'prompt' THEN 0 ELSE n * 0.005 * factor END AS hold_amount,
      CASE WHEN state = 'running' THEN %(now)s::timestamptz + interval '60 seconds' END AS lease_expires_at,
      CASE WHEN r_size < 0.4 THEN jsonb_build_object('model', model) ELSE '{{}}'::jsonb END AS options_given
    FROM shaped"""


TASK_COLUMNS = (
    "id, state, text_data, neg_text, num_images, seed, seed_given, moderation, end_user, callback_url, metadata, sync, "
    "model, model_version, run_info, timings_ms, attempts, worker_name, job_id, error_code, error_detail, charge, "
    "created_at, started_at, finished_at, api_key_id, project_id, tenant_id, images_delivered, moderation_report, "
    "hold_amount, lease_expires_at, billing_mode, guidance, height, options_given, output_format, output_quality, "
    "partial_images, steps, width"
)
TASK_VALUES = TASK_COLUMNS.replace("callback_url", "''").replace(" metadata,", " NULL,").replace(" sync,", " false,")
TASK_VALUES = TASK_VALUES.replace(" guidance,", " NULL,").replace(" output_format,", " 'png',")
TASK_VALUES = TASK_VALUES.replace(" output_quality,", " NULL,").replace(" partial_images,", " 0,")
TASK_VALUES = TASK_VALUES.replace(" steps,", " NULL,")


def images_sql() -> str:
    flagged = _pick("t.r_label", [(_jsonb(_flagged_moderation(labels)), 1 / 3) for labels in IMAGE_LABELS])
    passed = _jsonb({"decision": "pass", "flagged": [], "thresholds": {}, "scores": {"FACE_FEMALE": 0.12}})
    return f"""INSERT INTO generation_image (index, seed, width, height, storage_path, sha256, size_bytes, created_at,
        tenant_id, task_id, flagged, moderation, expired_at)
    SELECT i, (t.seed + i) %% 4294967296, t.width, t.height,
      CASE WHEN i < t.withheld OR t.kind = 'image' THEN ''
           ELSE 'image_generation/' || t.id || '/image' || i || '_' || t.width || '_' || t.height || '.png' END,
      md5(t.id::text || i) || md5(i || t.id::text), 800000 + (hashtext(t.id::text || i) & 262143), t.finished_at,
      t.tenant_id, t.id, i < t.withheld, CASE WHEN i < t.withheld THEN {flagged} ELSE {passed} END, NULL
    FROM bench_t t CROSS JOIN LATERAL generate_series(0, t.num_images - 1) AS i
    WHERE t.kind IN ('succeeded', 'partial', 'image')"""


def tiers_values(plan) -> str:
    """(tier, first image, last image, price) of ``plan``, as billing.services.price_images has them."""
    rows, low = [], 1
    if plan.included_images:
        rows.append((0, 1, plan.included_images, "0"))
        low = plan.included_images + 1
    for number, tier in enumerate(plan.tiers.all(), start=1):
        high = tier.up_to if tier.up_to is not None else 2**31 - 1
        rows.append((number, low, high, str(tier.unit_price)))
        low = high + 1
    return "(VALUES " + ", ".join(f"({n}, {lo}, {hi}, {price}::numeric)" for n, lo, hi, price in rows) + ")"


def billing_sql(plan) -> list[str]:
    """The ledger as task_bill writes it: each task's images priced at their place in the month."""
    return [
        """DROP TABLE IF EXISTS bench_cum; CREATE TEMP TABLE bench_cum AS
        SELECT x.*, COALESCE(mu.images, 0)
            + sum(x.images) OVER (PARTITION BY x.tenant_id, x.period ORDER BY x.finished_at, x.task_id) AS k1
        FROM (SELECT id AS task_id, tenant_id, project_id, end_user, finished_at, factor, images_delivered AS images,
                date_trunc('month', finished_at AT TIME ZONE 'UTC')::date AS period,
                (finished_at AT TIME ZONE 'UTC')::date AS day
              FROM bench_t WHERE state = 'succeeded' AND images_delivered > 0) x
        LEFT JOIN billing_monthlyusage mu ON mu.tenant_id = x.tenant_id AND mu.period = x.period""",
        f"""DROP TABLE IF EXISTS bench_lines; CREATE TEMP TABLE bench_lines AS
        SELECT c.task_id, c.tenant_id, tr.tier, tr.price * c.factor AS unit_price,
          least(c.k1, tr.hi) - greatest(c.k1 - c.images + 1, tr.lo) + 1 AS images
        FROM bench_cum c JOIN {tiers_values(plan)} AS tr(tier, lo, hi, price)
          ON least(c.k1, tr.hi) >= greatest(c.k1 - c.images + 1, tr.lo)""",
        """UPDATE bench_t t SET charge = s.amount
        FROM (SELECT task_id, sum(images * unit_price) AS amount FROM bench_lines GROUP BY task_id) s
        WHERE s.task_id = t.id""",
    ]


def ledger_sql(plan) -> list[str]:
    last = "(SELECT DISTINCT ON (task_id) task_id, tier, unit_price FROM bench_lines ORDER BY task_id, tier DESC)"
    amounts = "(SELECT task_id, sum(images * unit_price) AS amount FROM bench_lines GROUP BY task_id)"
    return [
        f"""WITH rec AS (
          INSERT INTO billing_usagerecord (end_user, currency, period, day, images, unit_price, tier, amount,
            created_at, plan_id, project_id, task_id, tenant_id, billing_mode)
          SELECT c.end_user, {_q(plan.currency)}, c.period, c.day, c.images, l.unit_price, l.tier, a.amount,
            c.finished_at, {plan.pk}, c.project_id, c.task_id, c.tenant_id, 'postpaid'
          FROM bench_cum c JOIN {last} l USING (task_id) JOIN {amounts} a USING (task_id)
          RETURNING id, task_id)
        INSERT INTO billing_usageline (tier, images, unit_price, amount, tenant_id, record_id)
        SELECT l.tier, l.images, l.unit_price, l.images * l.unit_price, l.tenant_id, rec.id
        FROM rec JOIN bench_lines l USING (task_id)""",
        f"""INSERT INTO billing_dailyusage (day, end_user, tasks, images, amount, project_id, tenant_id)
        SELECT c.day, c.end_user, count(*), sum(c.images), sum(a.amount), c.project_id, c.tenant_id
        FROM bench_cum c JOIN {amounts} a USING (task_id) GROUP BY c.day, c.end_user, c.project_id, c.tenant_id
        ON CONFLICT (tenant_id, day, project_id, end_user) DO UPDATE
          SET tasks = billing_dailyusage.tasks + EXCLUDED.tasks, images = billing_dailyusage.images + EXCLUDED.images,
            amount = billing_dailyusage.amount + EXCLUDED.amount""",
        f"""INSERT INTO billing_monthlyusage (period, images, amount, tenant_id)
        SELECT c.period, sum(c.images), sum(a.amount), c.tenant_id FROM bench_cum c JOIN {amounts} a USING (task_id)
        GROUP BY c.period, c.tenant_id
        ON CONFLICT (tenant_id, period) DO UPDATE SET images = billing_monthlyusage.images + EXCLUDED.images,
          amount = billing_monthlyusage.amount + EXCLUDED.amount""",
    ]


def write_batch(slots: Slots, plan, *, first: int, count: int, start: datetime, end: datetime, now: datetime):
    params = {"first": first, "last": first + count - 1, "count": count, "start": start, "end": end, "now": now}
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(%s)", [(first % 1000) / 1000])
        cursor.execute(tasks_table_sql(slots), params)
        for sql in billing_sql(plan):
            cursor.execute(sql)
        cursor.execute(f"INSERT INTO generation_task ({TASK_COLUMNS}) SELECT {TASK_VALUES} FROM bench_t")
        cursor.execute(images_sql(), [])  # [] so that %% is read as %
        for sql in ledger_sql(plan):
            cursor.execute(sql)


# --- The bench's tenants, its record of what is loaded, and the load itself ---------------------
META = "CREATE TABLE IF NOT EXISTS bench_scale_meta (tasks bigint, next_g bigint, loaded_until timestamptz)"
MAIN_SHARE = 0.95
OTHERS = 4


@dataclass
class World:
    """What the pages need: the main tenant, an API key for it, and tasks to look at."""

    tenant_id: int
    key: str
    tasks: int
    succeeded_id: str
    failed_id: str
    now: datetime

    def summary(self) -> str:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT (SELECT count(*) FROM generation_task), (SELECT count(*) FROM generation_image),"
                " (SELECT count(*) FROM billing_usagerecord), (SELECT count(*) FROM billing_invoice)"
            )
            tasks, images, usage, invoices = cursor.fetchone()
        return f"{tasks:,} tasks, {images:,} images, {usage:,} ledger rows, {invoices} invoices"


def ensure_tenants() -> Slots:
    """The main tenant (three projects: 60/30/10 of its tasks) and four others, made once."""
    from accounts.models import ApiKey, Project, Tenant
    from accounts.services import project_create, tenant_create

    if not Tenant.objects.filter(name="Scale Main").exists():
        main = tenant_create(name="Scale Main", project_name="Main app").tenant
        project_create(tenant=main, name="Batch jobs")
        project_create(tenant=main, name="Internal tools")
        for n in range(1, OTHERS + 1):
            tenant_create(name=f"Scale Other {n}")
    main = Tenant.objects.get(name="Scale Main")
    rows = []
    for share, project in zip(
        (0.6, 0.3, 0.1), Project.unscoped_objects.filter(tenant=main).order_by("pk"), strict=True
    ):
        key = ApiKey.unscoped_objects.filter(project=project).order_by("pk").first()
        rows.append((main.pk, project.pk, key.pk, MAIN_SHARE * share))
    for tenant in Tenant.objects.filter(name__startswith="Scale Other").order_by("pk"):
        project = Project.unscoped_objects.filter(tenant=tenant).order_by("pk").first()
        key = ApiKey.unscoped_objects.filter(project=project).order_by("pk").first()
        rows.append((tenant.pk, project.pk, key.pk, (1 - MAIN_SHARE) / OTHERS))
    return Slots(rows)


def load(slots: Slots, *, first: int, count: int, start: datetime, end: datetime, now: datetime) -> None:
    """``count`` tasks from ``start`` to ``end``, in batches in time order (the month's tiers count
    images in the order they were delivered)."""
    from billing.defaults import ensure_default_plan
    from billing.models import Plan, PriceTier

    plan = ensure_default_plan(Plan, PriceTier)
    batches = max(1, -(-count // BATCH))
    done = 0
    for b in range(batches):
        size = count // batches + (1 if b < count % batches else 0)
        lo = start + (end - start) * done / count
        hi = start + (end - start) * (done + size) / count
        write_batch(slots, plan, first=first + done, count=size, start=lo, end=hi, now=now)
        done += size
        print(f"  loaded {done:,} of {count:,} tasks", flush=True)


def invoice_ended_months(start: datetime, now: datetime) -> None:
    from billing.invoicing import billing_period_close
    from billing.services import period_of

    period = period_of(start)
    while period < period_of(now):
        billing_period_close(period=period, now=now)
        period = (period + timedelta(days=32)).replace(day=1)


def end_stale_work(now: datetime) -> None:
    """Tasks the last load left queued or running end cancelled, as a live service's would have."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE generation_task SET state = 'cancelled', lease_expires_at = NULL,"
            " finished_at = least(created_at + interval '5 minutes', %s) WHERE state IN ('queued', 'running')",
            [now],
        )


def analyze() -> None:
    with connection.cursor() as cursor:
        for table in ("generation_task", "generation_image", "billing_usagerecord", "billing_usageline",
                      "billing_dailyusage", "billing_monthlyusage"):  # fmt: skip
            cursor.execute(f"VACUUM (ANALYZE) {table}")
        cursor.execute("ANALYZE")


def bring_rollups_up_to_date() -> None:
    """`manage.py rollup_tasks` where the code has it (the scheduler's job does the same)."""
    from django.core.management import call_command, get_commands

    if "rollup_tasks" in get_commands():
        started = timezone.now()
        call_command("rollup_tasks")
        print(f"  rollup_tasks: {(timezone.now() - started).total_seconds():.1f} s", flush=True)


def prepare(count: int) -> World:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    slots = ensure_tenants()
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(META)
        cursor.execute("SELECT tasks, next_g, loaded_until FROM bench_scale_meta")
        meta = cursor.fetchone()
    if meta and meta[0] != count:
        raise SystemExit(f"this database holds a load of {meta[0]:,} tasks; give another --database-url")
    first, start = (meta[1], meta[2]) if meta else (1, now - SPAN)
    gap = count if not meta else round(count * (now - start) / SPAN)
    if meta:
        end_stale_work(now)
    if gap:
        print(f"writing {gap:,} tasks from {start:%Y-%m-%d %H:%M} to {now:%Y-%m-%d %H:%M}", flush=True)
        load(slots, first=first, count=gap, start=start, end=now, now=now)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM bench_scale_meta")
        cursor.execute("INSERT INTO bench_scale_meta VALUES (%s, %s, %s)", [count, first + gap, now])
    invoice_ended_months(now - SPAN, now)
    bring_rollups_up_to_date()
    analyze()
    return world(slots, count, now)


def world(slots: Slots, count: int, now: datetime) -> World:
    from accounts.models import Project
    from accounts.services import api_key_create
    from generation.models import Task

    main = slots.rows[0][0]
    key = api_key_create(project=Project.unscoped_objects.get(pk=slots.rows[0][1]), name="scale", tenant_wide=True)
    recent = Task.unscoped_objects.filter(tenant_id=main, created_at__gte=now - timedelta(days=2))
    succeeded = recent.filter(state="succeeded", images_delivered__gte=2).order_by("-created_at").first()
    failed = recent.filter(state="failed", error_code="moderation_blocked_image").order_by("-created_at").first()
    return World(tenant_id=main, key=key.raw_key, tasks=count, succeeded_id=str(succeeded.pk),
                 failed_id=str(failed.pk), now=now)  # fmt: skip
