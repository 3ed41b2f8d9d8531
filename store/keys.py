"""Every Redis key name the service uses."""

PREFIX = "on"


def outage(outage_id: str) -> str:
    return f"{PREFIX}:outage:{outage_id}"


def outage_history(outage_id: str) -> str:
    return f"{PREFIX}:outage:{outage_id}:history"


def outage_by_external_id(centre: str, external_id: str) -> str:
    return f"{PREFIX}:outage-extid:{centre}:{external_id}"


def region_outages(region: str) -> str:
    """Sorted set of outage ids in a region, scored by submission time."""
    return f"{PREFIX}:region:{region}:outages"


def region_notices(region: str) -> str:
    """Sorted set of 'outage_id/notice_id' published in a region, scored by publication time."""
    return f"{PREFIX}:region:{region}:notices"


def region_notices_indexed(region: str) -> str:
    """Set once the region's records published before `region_notices` existed are in it."""
    return f"{PREFIX}:region:{region}:notices-indexed"


def region_reviews(region: str) -> str:
    """Sorted set of outage ids awaiting review, scored by the publication deadline."""
    return f"{PREFIX}:region:{region}:reviews"


def api_key(secret_sha256: str) -> str:
    return f"{PREFIX}:apikey:{secret_sha256}"


def api_key_ids() -> str:
    """Hash of key id -> secret hash, for listing and revoking."""
    return f"{PREFIX}:apikeys"


def dispatch_pending() -> str:
    """Sorted set of 'outage_id/notice_id' published but not yet handed to every channel."""
    return f"{PREFIX}:dispatch:pending"


def dispatch_done(outage_id: str, notice_id: str) -> str:
    """Hash of channel -> time the notice was handed to that channel."""
    return f"{PREFIX}:dispatch:{outage_id}:{notice_id}:channels"


# The registry is bucketed (docs/OPERATIONS.md "A province's size"): a customer is a field of one
# of REGISTRY_BUCKETS small hashes rather than a key of its own, and so are its phone's and its
# address's index entries, so Redis keeps them in compact listpacks instead of paying a key's and
# a hash table's overhead per customer.
REGISTRY_BUCKETS = 65521


def bucket_of(text: str) -> int:
    """The text's bytes as one big-endian number, modulo a prime: C speed here, and the same in
    Lua as (value * 256 + byte) % REGISTRY_BUCKETS (store/ivr.py), exact in Lua's doubles."""
    return int.from_bytes(text.encode(), "big") % REGISTRY_BUCKETS


# bucket_of in Lua, for the scripts that find a customer's bucket themselves (store/ivr.py,
# store/customers.py); tests/test_customers.py checks the two agree.
BUCKET_OF_LUA = f"""
local function bucket_of(text)
  local value = 0
  for i = 1, #text do value = (value * 256 + string.byte(text, i)) % {REGISTRY_BUCKETS} end
  return value
end
"""


def customers(bucket: int) -> str:
    """Hash of account -> the customer (store.customers's compact encoding)."""
    return f"{PREFIX}:c:{bucket}"


def customer_bucket(account: str) -> str:
    return customers(bucket_of(account))


def customers_prefix() -> str:
    """customer_bucket(account) is this + bucket_of(account)."""
    return f"{PREFIX}:c:"


def phone_index(phone: str) -> str:
    """Hash whose fields '{phone}|{account}' link a number to its accounts."""
    return f"{PREFIX}:cp:{bucket_of(phone)}"


def address_index(address_digest: str) -> str:
    """Hash whose fields '{address digest}|{account}' list who is registered at an address."""
    return f"{PREFIX}:ca:{bucket_of(address_digest)}"


def customers_supplied(region: str, feeder: str, transformer_area: str) -> str:
    """Set of the accounts on this feeder in this transformer area (either may be empty)."""
    return f"{PREFIX}:cs:{region}:{len(feeder)}:{feeder}:{transformer_area}"


def areas_of_feeder(region: str, feeder: str) -> str:
    """Set of the transformer areas ('' for none) the registry has customers of on a feeder."""
    return f"{PREFIX}:cf:{region}:{feeder}"


def feeders_of_area(region: str, transformer_area: str) -> str:
    """Set of the feeders ('' for none) the registry has customers of in a transformer area."""
    return f"{PREFIX}:ct:{region}:{transformer_area}"


def region_customer_counts() -> str:
    """Hash: region code -> how many customers the registry holds there (the storm view's shares)."""
    return f"{PREFIX}:c:regions"


def important_customers(region: str) -> str:
    return f"{PREFIX}:cidx:{region}:important"


def opted_out(channel: str) -> str:
    """Set of a channel's addresses (phones, emails) that asked for no more notices."""
    return f"{PREFIX}:{channel}:opted-out"


def scratch(name: str) -> str:
    """A short-lived working key (expired by its writer)."""
    return f"{PREFIX}:tmp:{name}"


def audience(outage_id: str) -> str:
    """Accounts told about an outage: changes and restoration go to the same people, on every channel."""
    return f"{PREFIX}:audience:{outage_id}"


def ledger(channel: str, outage_id: str, notice_id: str) -> str:
    """Hash account -> 'status|detail' of one notice on one channel: the at-most-once record of every send."""
    return f"{PREFIX}:{channel}:{outage_id}:{notice_id}:ledger"


def ledger_addresses(channel: str, outage_id: str, notice_id: str) -> str:
    """Hash address -> the account whose message to that address carries one notice (one per address)."""
    return f"{PREFIX}:{channel}:{outage_id}:{notice_id}:addresses"


def delivery_counts(channel: str, outage_id: str, notice_id: str) -> str:
    return f"{PREFIX}:{channel}:{outage_id}:{notice_id}:counts"


def held() -> str:
    """Sorted set of held batch ids (every channel) by release time (quiet hours)."""
    return f"{PREFIX}:held"


def held_batches() -> str:
    return f"{PREFIX}:held:batches"


def delivery_ref(channel: str, provider_id: str) -> str:
    """The (outage, notice, account) of a provider's message id, for its receipts."""
    return f"{PREFIX}:{channel}:ref:{provider_id}"


def sms_outbox() -> str:
    return f"{PREFIX}:sms:outbox"


def sms_outbox_sent(to: str, body_digest: str) -> str:
    """The outbox message id with this text to this number (what Twilio's Messages list tells)."""
    return f"{PREFIX}:sms:outbox-sent:{to}:{body_digest}"


def job_in_progress(job_id: str) -> str:
    """arq's lease on a running job: while it exists no other worker starts the job."""
    return f"arq:in-progress:{job_id}"


def account_outages(account: str) -> str:
    """Sorted set of outage ids that concern an account, by expected restoration."""
    return f"{PREFIX}:acct:{account}:outages"


def rate_bucket(channel: str, sender: str) -> str:
    return f"{PREFIX}:{channel}:rate:{sender}"


def web_outages() -> str:
    """Hash outage id -> the public view, as pages and feeds read it."""
    return f"{PREFIX}:web:outages"


def web_visible(region: str | None) -> str:
    """Sorted set of public outage ids by the time they leave the list (all regions if None)."""
    return f"{PREFIX}:web:visible:{region or '*'}"


def web_by_feeder(feeder: str) -> str:
    return f"{PREFIX}:web:feeder:{feeder}"


def web_by_area(transformer_area: str) -> str:
    return f"{PREFIX}:web:area:{transformer_area}"


def web_notices(region: str | None) -> str:
    """Sorted set of 'outage_id/notice_id' by publication time, for the feeds."""
    return f"{PREFIX}:web:notices:{region or '*'}"


def web_version() -> str:
    return f"{PREFIX}:web:version"


def web_events() -> str:
    """Pub/sub channel: one message per published public notice."""
    return f"{PREFIX}:web:events"


def ivr_outages() -> str:
    """Hash outage id -> what the phone menu says about it."""
    return f"{PREFIX}:ivr:outages"


def ivr_by_feeder(region: str, feeder: str) -> str:
    """Sorted set of outage ids on a feeder, by the time they stop being worth telling."""
    return f"{PREFIX}:ivr:{region}:feeder:{feeder}"


def ivr_by_area(region: str, transformer_area: str) -> str:
    return f"{PREFIX}:ivr:{region}:area:{transformer_area}"


def ivr_by_account(account: str) -> str:
    return f"{PREFIX}:ivr:account:{account}"


def ivr_index_prefix() -> str:
    """ivr_by_feeder / ivr_by_area are this + '{region}:feeder:{feeder}' / '{region}:area:{area}'."""
    return f"{PREFIX}:ivr:"


def timeline() -> str:
    """Sorted set of 'event|outage_id' by the time the event fires."""
    return f"{PREFIX}:timeline"


def overdue(region: str) -> str:
    """Sorted set of outage ids past their expected restoration, by that time."""
    return f"{PREFIX}:region:{region}:overdue"


def stats(name: str) -> str:
    """Hash of counters for /metrics, written by whichever process did the work."""
    return f"{PREFIX}:stats:{name}"


def worker_heartbeat(queue_name: str) -> str:
    """arq's health-check key of the workers of a queue."""
    return f"{queue_name}:health-check"


def regions() -> str:
    """Set of every region that has an outage record (what /metrics reports on, without a scan)."""
    return f"{PREFIX}:regions"


def regions_indexed() -> str:
    """Set once `regions` holds the regions of records stored before it existed."""
    return f"{PREFIX}:regions-indexed"


def all_region_outages() -> str:
    """The pattern of region_outages: read once, to fill `regions` for data stored before it."""
    return f"{PREFIX}:region:*:outages"


def fanouts() -> str:
    """Sorted set of 'channel/outage_id/notice_id' whose fan-out is not known to be finished, by last check."""
    return f"{PREFIX}:fanouts"


def fanout_progress() -> str:
    """Hash 'channel/outage_id/notice_id' -> how many were still waiting at the last check."""
    return f"{PREFIX}:fanouts:progress"


def fault_report(report_id: str) -> str:
    return f"{PREFIX}:report:{report_id}"


def region_reports(region: str) -> str:
    """Sorted set of a region's fault report ids by time."""
    return f"{PREFIX}:region:{region}:reports"


def area_reports(region: str, transformer_area: str) -> str:
    """Sorted set of unexplained report ids from one transformer area, by time (the grouping window)."""
    return f"{PREFIX}:reports:{region}:area:{transformer_area}"


def feeder_reports(region: str, feeder: str) -> str:
    return f"{PREFIX}:reports:{region}:feeder:{feeder}"


def outage_reports() -> str:
    """Hash outage id -> how many fault reports it explained."""
    return f"{PREFIX}:outage-reports"


def repair_order(repair_id: str) -> str:
    return f"{PREFIX}:repair:{repair_id}"


def region_repairs(region: str) -> str:
    """Sorted set of a region's repair order ids by creation time."""
    return f"{PREFIX}:region:{region}:repairs"


def open_repair_of(kind: str, value: str) -> str:
    """The open repair order further reports of an account (kind 'account') or an address join."""
    return f"{PREFIX}:repair-open:{kind}:{value}"


def suspected_outage(suspect_id: str) -> str:
    return f"{PREFIX}:suspect:{suspect_id}"


def region_suspects(region: str) -> str:
    return f"{PREFIX}:region:{region}:suspects"


def open_suspect(region: str, level: str, scope: str) -> str:
    """The open suspected outage of one transformer area or feeder, while there is one."""
    return f"{PREFIX}:suspect-open:{region}:{level}:{scope}"


def repairs_awaiting_acceptance() -> str:
    """Sorted set of open repair order ids (every region) by when their acceptance is due."""
    return f"{PREFIX}:repairs:awaiting"


def outage_reporters(outage_id: str) -> str:
    """Accounts whose fault reports are part of an outage: they hear its notices whatever its audience rule."""
    return f"{PREFIX}:outage-reporters:{outage_id}"


def outage_reporters_told(outage_id: str) -> str:
    """Reporters added after the outage notice went out: told of it by the answer to their report,
    so its changes need not wait for that notice to reach them."""
    return f"{PREFIX}:outage-reporters-told:{outage_id}"


def pending_question(phone: str) -> str:
    """What a phone was last asked (a restoration check, a survey): its reply's meaning."""
    return f"{PREFIX}:question:{phone}"


def surveyed(account: str) -> str:
    """Set while an account may not be surveyed again (30 days)."""
    return f"{PREFIX}:surveyed:{account}"


def survey_counts(outage_id: str, notice_id: str) -> str:
    return f"{PREFIX}:survey:{outage_id}:{notice_id}"


def survey_comments(outage_id: str, notice_id: str) -> str:
    return f"{PREFIX}:survey-comments:{outage_id}:{notice_id}"


def follow_up_done(kind: str, outage_id: str) -> str:
    """Set once an outage's restoration check or survey went out: each goes once."""
    return f"{PREFIX}:follow-up-done:{kind}:{outage_id}"


def dispatch_events() -> str:
    """Pub/sub channel: a repair order or suspected outage of a region changed (dispatch pages)."""
    return f"{PREFIX}:dispatch-events"


def area_accounts(region: str, transformer_area: str) -> str:
    """Sorted set account -> its latest unexplained report in the area (distinct reporters in the window)."""
    return f"{PREFIX}:reports:{region}:area-accounts:{transformer_area}"


def feeder_areas(region: str, feeder: str) -> str:
    """Sorted set transformer area -> its latest unexplained report on the feeder."""
    return f"{PREFIX}:reports:{region}:feeder-areas:{feeder}"


def suspect_counts(suspect_id: str) -> str:
    """Hash of a suspected outage's running figures: reports, urgent, last (epoch seconds)."""
    return f"{PREFIX}:suspect-counts:{suspect_id}"


def suspect_accounts(suspect_id: str) -> str:
    return f"{PREFIX}:suspect-accounts:{suspect_id}"


def contacts(account: str) -> str:
    """Hash contact id -> an account's verified contact (beyond its registry phone)."""
    return f"{PREFIX}:contacts:{account}"


def contacts_at(channel: str, address: str) -> str:
    """Set of 'account/contact id' registered with this address (DEREG finds them)."""
    return f"{PREFIX}:contacts-at:{channel}:{address}"


def pending_registration(account: str, address: str) -> str:
    return f"{PREFIX}:registration:{account}:{address}"


def code_requests(kind: str, value: str) -> str:
    """How many registration codes an account or an address asked for in the current window."""
    return f"{PREFIX}:code-requests:{kind}:{value}"


def deployment_secret(name: str) -> str:
    """A random secret made once per deployment (shared by every process), e.g. for unsubscribe links."""
    return f"{PREFIX}:secret:{name}"


def accounts_with_contacts(channel: str) -> str:
    """Accounts with at least one verified contact on a channel: a contacts-only channel's fan-out
    goes to these of an outage's audience, not to every account of it."""
    return f"{PREFIX}:accounts-with-contacts:{channel}"


def webhook(webhook_id: str) -> str:
    return f"{PREFIX}:webhook:{webhook_id}"


def webhook_secret(webhook_id: str) -> str:
    return f"{PREFIX}:webhook-secret:{webhook_id}"


def region_webhooks(region: str) -> str:
    """Set of the webhook ids of a region (every partner key of it)."""
    return f"{PREFIX}:region:{region}:webhooks"


def voice_confirmed(outage_id: str, notice_id: str) -> str:
    """Hash ledger entry -> when the callee pressed 1 (epoch seconds)."""
    return f"{PREFIX}:voice-confirmed:{outage_id}:{notice_id}"


def unconfirmed_calls(region: str) -> str:
    """Set of 'outage|notice|entry' whose calls were never confirmed: a person should call."""
    return f"{PREFIX}:region:{region}:unconfirmed-calls"


def area_subscription(subscription_id: str) -> str:
    return f"{PREFIX}:area-subscription:{subscription_id}"


def area_subscribers(region: str, level: str, code: str) -> str:
    """Set of confirmed area subscription ids covering a feeder or transformer area."""
    return f"{PREFIX}:area-subscribers:{region}:{level}:{code}"


def replication_probe() -> str:
    """A counter written before WAIT: replicas having it have every write made before it."""
    return f"{PREFIX}:replication-probe"
