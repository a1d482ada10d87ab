"""POST-only buttons on an admin change page, each running one of the page's admin actions on
that one object: ``<object id>/do/<what>/`` runs the action ``BUTTONS[what]``, with the same
permission checks as the action list. The page lists them as ``buttons`` (what, label) in its
context and draws them beside "History" (``admin/change_form_buttons.html``)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse


class ButtonsMixin:
    BUTTONS: dict[str, str] = {}  # what -> the name of an admin action (request, queryset)
    change_form_template = "admin/change_form_buttons.html"

    def get_urls(self):
        opts = self.model._meta
        return [
            path(
                "<path:object_id>/do/<str:what>/",
                self.admin_site.admin_view(self.button_view),
                name=f"{opts.app_label}_{opts.model_name}_button",
            ),
            *super().get_urls(),
        ]

    def button_view(self, request, object_id, what):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if what not in self.BUTTONS:
            raise PermissionDenied
        opts = self.model._meta
        try:
            pk = opts.pk.to_python(object_id)
        except ValidationError:
            raise Http404 from None
        obj = get_object_or_404(self.get_queryset(request), pk=pk)
        if not self.has_change_permission(request, obj):
            raise PermissionDenied
        getattr(self, self.BUTTONS[what])(request, self.get_queryset(request).filter(pk=obj.pk))
        return HttpResponseRedirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]))
