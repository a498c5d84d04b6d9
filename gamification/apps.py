from django.apps import AppConfig


class GamificationConfig(AppConfig):
    name = "gamification"
    verbose_name = "Progression"

    def ready(self) -> None:
        from casinoclub import domain_events
        from gamification import receivers

        domain_events.round_settled.connect(
            receivers.on_round_settled, dispatch_uid="gamification.round_settled"
        )
        domain_events.purchase_succeeded.connect(
            receivers.on_purchase_succeeded, dispatch_uid="gamification.purchase_succeeded"
        )
        domain_events.purchase_reversed.connect(
            receivers.on_purchase_reversed, dispatch_uid="gamification.purchase_reversed"
        )
