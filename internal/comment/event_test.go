package comment

import (
	"testing"
	"time"
)

func TestEventPayloadRoundTrip(t *testing.T) {
	topic := NewTopicID()
	events := []Event{
		{Kind: EventCreated, Created: &Created{Path: Path{0, 3}, User: "ann", Content: "hi \"there\"\n"}},
		{Kind: EventEdited, Edited: &Edited{Path: Path{0}, Content: "new"}},
		{Kind: EventDeleted, Deleted: &Deleted{Path: Path{0, 3, 9}}},
		{Kind: EventViews, Views: &Views{Ranges: []ViewRange{{Topic: topic, First: Path{0}, Last: Path{0, 3}, MaxID: 3, Count: 7}}}},
		{Kind: EventBanned, Banned: &Banned{User: "u-1", Reason: "spam", By: "u-mod"}},
		{Kind: EventVoted, Voted: &Voted{Path: Path{0, 3}, Voter: "u-2", Value: -1, Was: 1, WasAt: time.UnixMilli(1e12).UTC(), Up: 4, Down: 2, Created: time.UnixMilli(1e12 - 5).UTC()}},
	}
	for _, e := range events {
		b, err := e.Payload()
		if err != nil {
			t.Fatal(err)
		}
		back := Event{Kind: e.Kind}
		if err := back.DecodePayload(b); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		b2, _ := back.Payload()
		if string(b) != string(b2) {
			t.Fatalf("round trip %s -> %s", b, b2)
		}
	}
	// What encoding/json accepted, json v2 accepts too (DecodePayload's
	// options): names in another case, unknown and repeated members.
	lenient := Event{Kind: EventCreated}
	if err := lenient.DecodePayload([]byte(`{"PATH":"0/4","User":"x","user":"ann","Content":"hi","extra":1}`)); err != nil {
		t.Fatal(err)
	}
	if c := lenient.Created; !c.Path.Equal(Path{0, 4}) || c.User != "ann" || c.Content != "hi" {
		t.Fatalf("lenient decode gave %+v", c)
	}
	bad := Event{Kind: "nope"}
	if err := bad.DecodePayload([]byte(`{}`)); err == nil {
		t.Fatal("unknown kind decoded")
	}
	if err := (&Event{Kind: EventCreated}).DecodePayload([]byte(`{"path": "x"}`)); err == nil {
		t.Fatal("bad path decoded")
	}
}

func TestViewRangeValidate(t *testing.T) {
	ok := ViewRange{First: Path{0, 1}, Last: Path{0, 2}, MaxID: 2, Count: 1}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]ViewRange{
		"backwards":   {First: Path{0, 2}, Last: Path{0, 1}, MaxID: 2, Count: 1},
		"zero count":  {First: Path{0}, Last: Path{0}, MaxID: 0, Count: 0},
		"max_id low":  {First: Path{0}, Last: Path{0, 5}, MaxID: 4, Count: 1},
		"empty first": {Last: Path{0}, Count: 1},
	} {
		if r.Validate() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestAppendTime(t *testing.T) {
	tm := time.Date(2026, 11, 22, 23, 19, 36, 123456789, time.FixedZone("x", 3600))
	if got := string(AppendTime(nil, tm)); got != "2026-11-22T22:19:36.123Z" {
		t.Fatalf("AppendTime = %q", got)
	}
	if got := string(AppendTime(nil, tm.Truncate(time.Second))); got != "2026-11-22T22:19:36.000Z" {
		t.Fatalf("AppendTime whole second = %q", got)
	}
}

func TestAppendTimeMatchesLayout(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(2026, 11, 22, 23, 19, 36, 123456789, time.UTC),
		time.Date(1999, 1, 2, 3, 4, 5, 6e6, time.FixedZone("x", -7200)),
		time.Date(2000, 2, 29, 0, 0, 0, 999999999, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Unix(0, 0),
	} {
		if got, want := string(AppendTime(nil, tm)), tm.UTC().Format(TimeLayout); got != want {
			t.Errorf("%v: %s, want %s", tm, got, want)
		}
	}
	var buf [32]byte
	if n := testing.AllocsPerRun(100, func() { AppendTime(buf[:0], time.Now()) }); n != 0 {
		t.Errorf("AppendTime allocates %v times", n)
	}
}
