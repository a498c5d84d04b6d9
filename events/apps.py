from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "events"
    verbose_name = "Events and missions"

    def ready(self) -> None:
        from casinoclub import domain_events

        from . import receivers

        domain_events.round_settled.connect(
            receivers.on_round_settled, dispatch_uid="events.round_settled"
        )
        domain_events.purchase_succeeded.connect(
            receivers.on_purchase_succeeded, dispatch_uid="events.purchase_succeeded"
        )
        domain_events.purchase_reversed.connect(
            receivers.on_purchase_reversed, dispatch_uid="events.purchase_reversed"
        )
        domain_events.reward_claimed.connect(
            receivers.on_reward_claimed, dispatch_uid="events.reward_claimed"
        )
