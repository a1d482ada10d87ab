from django.contrib import admin

from callbacks.admin import CallbackDeliveryInline
from generation.models import Image, Task


class ImageInline(admin.TabularInline):
    model = Image
    extra = 0
    can_delete = False
    fields = ("index", "seed", "width", "height", "storage_path", "sha256", "size_bytes")
    readonly_fields = fields


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ("id", "state", "tenant", "project", "num_images", "model", "charge", "error_code", "created_at")
    list_select_related = ("tenant", "project")
    list_filter = ("state", "error_code", "model", "created_at")
    search_fields = ("=id", "text_data")
    date_hierarchy = "created_at"
    inlines = [ImageInline, CallbackDeliveryInline]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False
