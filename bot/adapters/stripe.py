"""Stripe through its official SDK: Checkout Sessions out, signed webhook events in.

STRIPE_API_BASE replaces Stripe's address (tests point it at a local fake over real HTTP);
the SDK's own HTTPX client keeps every call asynchronous, inside the bot's event loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.config import Settings

if TYPE_CHECKING:
    import stripe

# Checkout's page in the client's language (Stripe's codes for duebot's four).
CHECKOUT_LOCALES = {"en": "en", "pt": "pt-BR", "ru": "ru", "pl": "pl"}


class StripeUnavailable(Exception):
    """Stripe did not create a session (network trouble, a refused key): try again later."""


class BadWebhook(Exception):
    """A request that is not a genuine Stripe event (bad signature, not JSON)."""


@dataclass(frozen=True)
class CheckoutRequest:
    invoice_id: int
    title: str
    description: str
    amount_minor: int
    paid_minor: int
    currency: str
    locale: str
    success_url: str
    cancel_url: str


class StripeGateway:
    def __init__(self, settings: Settings) -> None:
        key = settings.stripe_api_key
        secret = settings.stripe_webhook_secret
        self._secret = secret.get_secret_value() if secret else ""
        self._client: stripe.StripeClient | None = None
        if key is not None:
            # The SDK (and the requests library it loads) is imported only by a bot that
            # takes card payments through Stripe: a fifth of every other bot's start-up.
            import stripe

            self._client = stripe.StripeClient(
                key.get_secret_value(),
                base_addresses={"api": settings.stripe_api_base},
                http_client=stripe.HTTPXClient(timeout=20),
                max_network_retries=1,
            )

    async def checkout_url(self, request: CheckoutRequest) -> str:
        if self._client is None:
            raise StripeUnavailable("no STRIPE_API_KEY")
        import stripe  # loaded already: the client exists

        metadata = {
            "invoice_id": str(request.invoice_id),
            "amount_minor": str(request.amount_minor),
            "paid_minor": str(request.paid_minor),
        }
        params: dict[str, Any] = {
            "mode": "payment",
            "client_reference_id": str(request.invoice_id),
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": request.currency.lower(),
                        "unit_amount": request.amount_minor,
                        "product_data": {
                            "name": request.title,
                            **({"description": request.description} if request.description else {}),
                        },
                    },
                }
            ],
            "metadata": metadata,
            "payment_intent_data": {"metadata": metadata},
            "locale": CHECKOUT_LOCALES.get(request.locale, "auto"),
            "success_url": request.success_url,
            "cancel_url": request.cancel_url,
        }
        try:
            session = await self._client.v1.checkout.sessions.create_async(params)  # type: ignore[arg-type]
        except stripe.StripeError as exc:
            raise StripeUnavailable(type(exc).__name__) from None
        if not session.url:
            raise StripeUnavailable("no url")
        return str(session.url)

    def event(self, payload: bytes, signature: str) -> dict[str, Any]:
        """The verified event as plain data; BadWebhook for anything Stripe did not sign."""
        import stripe  # only a bot that receives Stripe's webhooks gets here

        try:
            event = stripe.Webhook.construct_event(payload, signature, self._secret)
        except (ValueError, stripe.SignatureVerificationError):
            raise BadWebhook from None
        found: dict[str, Any] = event.to_dict()
        return found
