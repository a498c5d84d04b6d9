from django.urls import path

from shop import views

urlpatterns = [
    path("catalog", views.CatalogView.as_view(), name="shop-catalog"),
    path("buy", views.BuyView.as_view(), name="shop-buy"),
    path("transactions", views.TransactionsView.as_view(), name="shop-transactions"),
    path("transactions/<str:receipt>/settle", views.SettleView.as_view(), name="shop-settle"),
    path("limited-packages", views.LimitedPackagesView.as_view(), name="shop-limited-packages"),
    path("buy-limited", views.BuyLimitedView.as_view(), name="shop-buy-limited"),
    path("webhook/payment", views.WebhookView.as_view(), name="shop-webhook-payment"),
    path("webhook/stripe", views.StripeWebhookView.as_view(), name="shop-webhook-stripe"),
]
