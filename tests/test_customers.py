"""The customer registry: CSV import by API upload, upsert, rejections by line, removal."""

import asyncio

import httpx
from arq.connections import ArqRedis

from store import keys as store_keys
from store.customers import CustomerStore
from tests.conftest import Keys, snapshot
from tests.customers import HEADER, load, phone, row

Client = httpx.AsyncClient


async def _upload(client: Client, keys: Keys, text: str | bytes, who: str = "submitter") -> httpx.Response:
    content = text.encode() if isinstance(text, str) else text
    return await client.post(
        "/api/v1/customers/import", content=content, headers={**keys.headers(who), "content-type": "text/csv"}
    )


async def test_upload_imports_good_rows_and_reports_bad_ones_by_line(
    client: Client, keys: Keys, redis: ArqRedis
) -> None:
    text = (
        HEADER
        + row("A1", "138 0013 8000")
        + row("A2", "12345")
        + row("A3", phone(3), region="440305")
        + "A4,Name,13900139000,310115,F1,T1,maybe,zh-CN\n"
        + row("A5", "+86 139-0013-9001", language="en")
    )
    response = await _upload(client, keys, text)
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["inserted"], report["rejected"]) == (2, 3)
    lines = {p["line"] for p in report["problems"]}
    assert lines == {3, 4, 5}
    reasons = " ".join(p["reason"] for p in report["problems"])
    assert "12345" in reasons and "440305" in reasons and "maybe" in reasons
    stored = (await client.get("/api/v1/customers/A1", headers=keys.headers("reviewer"))).json()
    assert stored["phone"] == "+8613800138000"
    assert (await CustomerStore(redis).get("A5")) is not None


async def test_importing_the_same_file_twice_changes_nothing(
    client: Client, keys: Keys, redis: ArqRedis
) -> None:
    text = HEADER + row("A1", phone(1)) + row("A2", phone(2))
    await _upload(client, keys, text)
    before = await snapshot(redis)
    again = (await _upload(client, keys, text)).json()
    assert (again["inserted"], again["updated"], again["unchanged"]) == (0, 0, 2)
    assert await snapshot(redis) == before


async def test_update_moves_the_customer_between_indexes(redis: ArqRedis) -> None:
    await load(redis, row("A1", phone(1), feeder="F1"))
    report = await load(redis, row("A1", phone(2), feeder="F2"))
    assert report.updated == 1
    store = CustomerStore(redis)
    count_f1 = await store.resolve(
        "on:tmp:t1", "310115", feeders=["F1"], transformer_areas=[], accounts=[], important_only=False
    )
    count_f2 = await store.resolve(
        "on:tmp:t2", "310115", feeders=["F2"], transformer_areas=[], accounts=[], important_only=False
    )
    assert (count_f1, count_f2) == (0, 1)
    assert await store.accounts_of_phone(phone(1)) == []
    assert await store.accounts_of_phone(phone(2)) == ["A1"]


async def test_a_file_without_the_required_columns_is_refused_whole(
    client: Client, keys: Keys, redis: ArqRedis
) -> None:
    before = await snapshot(redis)
    response = await _upload(client, keys, "account,name\nA1,x\n")
    assert response.status_code == 422
    assert "phone" in response.json()["detail"]
    neither = await _upload(client, keys, HEADER.encode() + b"\xff\xfe\xfd,\x80\x81\n")
    assert neither.status_code == 422
    assert neither.json()["extra"]["rule"] == "encoding" and "iconv" in neither.json()["detail"]
    assert await snapshot(redis) == before
    # GBK/GB18030, as Excel saves CSV on Chinese Windows, is read as such.
    gbk = (HEADER.rstrip("\n") + ",address\n" + row("A1", phone(1)).rstrip("\n") + ",张江路292号\n").encode(
        "gbk"
    )
    assert (await _upload(client, keys, gbk)).json()["inserted"] == 1
    stored = await CustomerStore(redis).get("A1")
    assert stored is not None and stored.address == "张江路292号"


async def test_remove_and_permissions(client: Client, keys: Keys, redis: ArqRedis) -> None:
    await load(redis, row("A1", phone(1)), row("B1", phone(2), region="440305"))
    assert (await _upload(client, keys, HEADER, who="reviewer")).status_code == 403
    assert (await client.post("/api/v1/customers/import", content=HEADER)).status_code == 401
    assert (await client.delete("/api/v1/customers/B1", headers=keys.headers("submitter"))).status_code == 404
    assert (await client.delete("/api/v1/customers/A1", headers=keys.headers("submitter"))).status_code == 204
    assert await CustomerStore(redis).get("A1") is None
    assert await CustomerStore(redis).accounts_of_phone(phone(1)) == []


async def test_a_key_cannot_import_over_another_regions_account(
    client: Client, keys: Keys, redis: ArqRedis
) -> None:
    await load(redis, row("B1", phone(2), region="310115", feeder="F1"))
    before = await snapshot(redis)
    # Region 440305's key sends a row for its own region naming 310115's account, with its phone.
    hijack = (
        HEADER + row("B1", phone(66), region="440305", feeder="X9") + row("N1", phone(7), region="440305")
    )
    response = await _upload(client, keys, hijack, who="other")
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["inserted"], report["updated"], report["rejected"]) == (1, 0, 1)
    [problem] = report["problems"]
    assert problem["line"] == 2 and "B1" in problem["reason"] and "another region" in problem["reason"]
    stored = await CustomerStore(redis).get("B1")
    assert stored is not None and (stored.region, stored.phone) == ("310115", phone(2))
    assert await CustomerStore(redis).accounts_of_phone(phone(66)) == []
    after = await snapshot(redis)
    changed = {k.decode() for k in after if before.get(k) != after[k]}
    assert changed == {
        store_keys.customer_bucket("N1"),
        store_keys.phone_index(phone(7)),
        store_keys.customers_supplied("440305", "F1", "TA-9"),
        store_keys.areas_of_feeder("440305", "F1"),
        store_keys.feeders_of_area("440305", "TA-9"),
        # N1 counted in its region (the storm view's shares).
        store_keys.region_customer_counts(),
    }
    # Removal by the other region's key neither finds nor removes it.
    gone = await client.delete("/api/v1/customers/B1", headers=keys.headers("other"))
    assert gone.status_code == 404
    assert await CustomerStore(redis).get("B1") is not None


async def test_concurrent_imports_of_one_account_leave_the_indexes_consistent(redis: ArqRedis) -> None:
    store = CustomerStore(redis)
    for attempt in range(40):
        account = f"C{attempt}"
        first, second = phone(1000 + 2 * attempt), phone(1001 + 2 * attempt)
        await load(redis, row(account, phone(9), feeder="F0"))
        await asyncio.gather(
            load(redis, row(account, first, feeder="F1")), load(redis, row(account, second, feeder="F2"))
        )
        stored = await store.get(account)
        assert stored is not None
        linked = {p for p in (first, second, phone(9)) if account in await store.accounts_of_phone(p)}
        assert linked == {stored.phone}, (attempt, stored.phone, linked)
        on = {
            f
            for f in ("F0", "F1", "F2")
            if await redis.sismember(store_keys.customers_supplied("310115", f, "TA-9"), account)
        }
        assert on == {stored.feeder}, (attempt, on)


def test_generated_files_for_two_regions_share_no_account_or_phone_and_accounts_are_keyable() -> None:
    from services.demo_customers import synthetic_customers

    def parsed(region: str) -> list[list[str]]:
        return [line.split(",") for line in list(synthetic_customers(2000, region=region))[1:]]

    demo, other = parsed("310115"), parsed("440305")
    assert all(fields[0].isdigit() for fields in demo + other), "a caller keys the account on a phone"
    assert not {f[0] for f in demo} & {f[0] for f in other}
    assert not {f[2] for f in demo} & {f[2] for f in other}
    assert len({f[2] for f in demo}) == len(demo)


async def test_a_server_whose_encoding_limits_would_bloat_the_registry_is_named(redis: ArqRedis) -> None:
    from store.customers import encoding_shortfalls

    assert await encoding_shortfalls(redis) == {}
    await redis.config_set("hash-max-listpack-value", 64)
    try:
        assert await encoding_shortfalls(redis) == {"hash-max-listpack-value": 64}
    finally:
        await redis.config_set("hash-max-listpack-value", 512)


async def test_the_phone_menu_script_finds_a_customer_in_the_bucket_python_put_it_in(redis: ArqRedis) -> None:
    """store/ivr.py and store/customers.py compute an account's bucket in Lua; it must be keys.bucket_of's."""
    script = f"{store_keys.BUCKET_OF_LUA}\nlocal out = {{}}\n"
    script += "for i = 1, #ARGV do out[#out + 1] = bucket_of(ARGV[i]) end\nreturn out"
    texts = ["A1", "3101150000000", "0000000000000000000000000000000", "户号-甲乙丙", "x" * 200, ""]
    found = await redis.eval(script, 0, *texts)
    assert found == [store_keys.bucket_of(t) for t in texts]
