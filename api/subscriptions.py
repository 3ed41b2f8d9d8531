"""Customers add contacts to their account (a family phone, an email), proved by a code sent to
the account's registered phone; a region's keys list and remove an account's contacts."""

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency
from litestar.openapi.spec import Example
from litestar.params import Body, FromPath, HeaderParameter

from api.strict_body import strictly
from schemas.contacts import (
    AreaConfirmation,
    AreaSubscriptionRequest,
    Contact,
    SubscriptionRequest,
    Verification,
)
from schemas.errors import NotFound
from schemas.keys import ApiKey
from services.area_subscriptions import AreaCodeSent, AreaConfirmed, AreaSubscriptionService
from services.customers import CustomerService
from services.registration import CodeSent, RegistrationService, VerifiedContact

ContactToken = Annotated[str, HeaderParameter(name="X-Contact-Token", min_length=16, max_length=64)]


class SubscriptionController(Controller):
    path = "/api/v1/subscriptions"
    tags = ["subscriptions"]

    @post(
        "/",
        summary="Ask to add a contact to an account: a code goes to the account's registered phone",
        description=(
            "No key: anyone may ask, but only the account holder's phone gets the code. 202 says where "
            "(masked). 409 when the address is the registered phone or a contact already, or the account "
            "has MAX_CONTACTS; 429 after 3 codes an hour per account or address."
        ),
        status_code=202,
    )
    async def ask(
        self,
        data: Annotated[
            SubscriptionRequest,
            Body(
                examples=[
                    Example(
                        value={"account": "3101150000001", "address": "+8613900000002", "channel": "sms"}
                    ),
                    Example(
                        value={"account": "3101150000001", "address": "li@example.com", "channel": "email"}
                    ),
                ]
            ),
        ],
        registration: NamedDependency[RegistrationService],
        request: Request[Any, Any, Any],
    ) -> CodeSent:
        return await registration.request(await strictly(request, data))

    @post(
        "/verify",
        summary="Give the code: the address becomes a contact of the account",
        description="Wrong code: 422 with the tries left; after 5, or once expired (10 minutes), a new code is needed.",
        status_code=201,
    )
    async def verify(
        self,
        data: Annotated[
            Verification,
            Body(
                examples=[
                    Example(value={"account": "3101150000001", "address": "+8613900000002", "code": "123456"})
                ]
            ),
        ],
        registration: NamedDependency[RegistrationService],
        request: Request[Any, Any, Any],
    ) -> VerifiedContact:
        return await registration.verify(await strictly(request, data))

    @post(
        "/areas",
        summary="Follow the public notices of a street address, feeder or transformer area (double opt-in)",
        description=(
            "No key. Give one of street_address, feeder, transformer_area of `region`, and the phone or email "
            "to notify; a code goes to that phone or email, and nothing is sent until it comes back "
            "(POST /api/v1/subscriptions/areas/confirm). Only public kinds are sent."
        ),
        status_code=202,
    )
    async def ask_area(
        self,
        data: Annotated[
            AreaSubscriptionRequest,
            Body(
                examples=[
                    Example(
                        value={
                            "region": "310115",
                            "street_address": "张江路292号",
                            "address": "+8613900000002",
                        }
                    )
                ]
            ),
        ],
        areas: NamedDependency[AreaSubscriptionService],
        request: Request[Any, Any, Any],
    ) -> AreaCodeSent:
        return await areas.request(await strictly(request, data))

    @post(
        "/areas/confirm",
        summary="Give the code sent to the phone or email: the subscription starts",
        status_code=201,
    )
    async def confirm_area(
        self,
        data: Annotated[
            AreaConfirmation, Body(examples=[Example(value={"id": "as_0123456789abcdef", "code": "123456"})])
        ],
        areas: NamedDependency[AreaSubscriptionService],
        request: Request[Any, Any, Any],
    ) -> AreaConfirmed:
        return await areas.confirm(await strictly(request, data))

    @delete(
        "/areas/{subscription_id:str}", summary="Stop following an area (X-Contact-Token)", status_code=204
    )
    async def remove_area(
        self,
        subscription_id: FromPath[str],
        token: ContactToken,
        areas: NamedDependency[AreaSubscriptionService],
    ) -> None:
        await areas.remove(subscription_id, token)

    @get(
        "/{account:str}/{contact_id:str}",
        summary="The contact's holder reads it (header X-Contact-Token: the token given at verification)",
    )
    async def read_own(
        self,
        account: FromPath[str],
        contact_id: FromPath[str],
        token: ContactToken,
        registration: NamedDependency[RegistrationService],
    ) -> Contact:
        return await registration.own(account, contact_id, token)

    @delete("/{account:str}/{contact_id:str}", summary="The contact's holder removes it", status_code=204)
    async def remove_own(
        self,
        account: FromPath[str],
        contact_id: FromPath[str],
        token: ContactToken,
        registration: NamedDependency[RegistrationService],
    ) -> None:
        await registration.remove_own(account, contact_id, token)


class ContactController(Controller):
    path = "/api/v1/customers/{account:str}/contacts"
    tags = ["customers"]
    security = [{"bearer": []}]

    async def _in_region(self, customers: CustomerService, account: str, caller: ApiKey) -> None:
        if await customers.in_region(account, caller.region) is None:
            raise NotFound(f"no customer {account} in region {caller.region}")

    @get("/", summary="An account's verified contacts (besides its registered phone)")
    async def list_contacts(
        self,
        account: FromPath[str],
        caller: NamedDependency[ApiKey],
        customers: NamedDependency[CustomerService],
        registration: NamedDependency[RegistrationService],
    ) -> list[Contact]:
        await self._in_region(customers, account, caller)
        return await registration.of_account(account)

    @delete("/{contact_id:str}", summary="Remove a contact", status_code=204)
    async def remove(
        self,
        account: FromPath[str],
        contact_id: FromPath[str],
        caller: NamedDependency[ApiKey],
        customers: NamedDependency[CustomerService],
        registration: NamedDependency[RegistrationService],
    ) -> None:
        await self._in_region(customers, account, caller)
        await registration.remove(account, contact_id)
