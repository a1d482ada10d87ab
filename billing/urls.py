from django.urls import path

from billing import api

urlpatterns = [
    path("task/quote", api.QuoteView.as_view(), name="task-quote"),
    path("usage", api.UsageView.as_view(), name="usage"),
    path("invoices", api.InvoiceListView.as_view(), name="invoice-list"),
    path("invoices/<str:invoice_id>", api.InvoiceDetailView.as_view(), name="invoice-detail"),
    path("invoices/<str:invoice_id>/html", api.InvoiceHTMLView.as_view(), name="invoice-html"),
]
