"""CleverTap's profile limits past the point of refusal
(https://docs.clevertap.com/docs/platform-considerations, "User profiles"):

- "Multi-value property values must be Strings and are limited to 100 items. Excess items will
  be removed on a FIFO (first-in, first-out) basis": the record is processed and the oldest
  items go, whether the list is set or grown with `$add`;
- a scalar value promoted by `$add` "is then converted to a string";
- "A User Profile can have a maximum number of 256 custom attribute keys": what happens past it
  is not documented; the emulator keeps the profile's keys and leaves the new ones out.

Each such change is a warning of kind `limit` in the upload's journal verdict."""

from __future__ import annotations

from tests.drivers import CleverTapDriver, ControlViews
from tests.drivers.clevertap import profile_record

UPLOAD = "/1/upload"


def test_a_multi_value_list_past_100_items_keeps_the_newest_100(
    ct: CleverTapDriver, views: ControlViews
) -> None:
    ct.upload_ok(profile_record("u1", tags=[f"t{i}" for i in range(120)]))
    assert ct.profile(identity="u1")["profileData"]["tags"] == [f"t{i}" for i in range(20, 120)]
    assert views.warnings("limit", path=UPLOAD) == [
        (
            "$.d[0].profileData.tags",
            "multi-value property of 120 items, over the limit of 100: the first 20 removed "
            "(FIFO: 't0', 't1', 't2', ...)",
        )
    ]


def test_add_past_100_items_removes_the_oldest_first(
    ct: CleverTapDriver, views: ControlViews
) -> None:
    ct.upload_ok(profile_record("u1", tags=[f"t{i}" for i in range(99)]))
    assert views.warnings("limit", path=UPLOAD) == []
    ct.upload_ok(profile_record("u1", tags={"$add": ["new1", "new2", "t5"]}))
    tags = ct.profile(identity="u1")["profileData"]["tags"]
    assert len(tags) == 100
    assert tags[0] == "t1" and tags[-2:] == ["new1", "new2"]  # t0 went first
    ((path, message),) = views.warnings("limit", path=UPLOAD)
    assert path == "$.d[0].profileData.tags"
    assert message.endswith("the first 1 removed (FIFO: 't0')")


def test_add_to_a_scalar_converts_it_to_a_string(ct: CleverTapDriver) -> None:
    ct.upload_ok(profile_record("u1", Language=7))
    ct.upload_ok(profile_record("u1", Language={"$add": ["Spanish"]}))
    assert ct.profile(identity="u1")["profileData"]["Language"] == ["7", "Spanish"]


def test_custom_properties_past_256_on_a_profile_are_left_out_and_named(
    ct: CleverTapDriver, views: ControlViews
) -> None:
    ct.upload_ok(profile_record("u1", **{f"p{i}": i for i in range(250)}))
    ct.upload_ok(profile_record("u1", Name="Ann", p0=-1, **{f"q{i}": i for i in range(8)}))
    data = ct.profile(identity="u1")["profileData"]
    assert data["p0"] == -1  # an existing key still changes
    assert [f"q{i}" in data for i in range(8)] == [True] * 6 + [False] * 2
    assert views.warnings("limit", path=UPLOAD) == [
        (
            f"$.d[0].profileData.q{i}",
            "the profile already has 256 custom properties, the limit: this one not added",
        )
        for i in (6, 7)
    ]
