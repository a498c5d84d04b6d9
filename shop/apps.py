from django.apps import AppConfig


class ShopConfig(AppConfig):
    name = "shop"
    verbose_name = "Shop"

    def ready(self) -> None:
        from casinoclub.projections import projection_register
        from shop.projections import PROJECTIONS

        for projection in PROJECTIONS:
            projection_register(projection)

        from accounts.exports import export_section_register
        from shop.selectors import purchases_for_export

        export_section_register("purchases", purchases_for_export)
