package store

import (
	"context"
	"strconv"
	"strings"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parley/parley/internal/comment"
)

// Notification is what a commit's NOTIFY tells a reader: the log head the
// commit left (0 when not known: on a connect) and, for a batch small
// enough, the batch's events, the last of them at Head. Events is nil when
// the batch was too large, or the payload came from a writer that sent
// only the head.
type Notification struct {
	Head   int64
	Events []comment.Event
}

// maxNotifyEvents bounds the events' part of a payload: Postgres refuses
// a NOTIFY payload of 8000 bytes or more, and the head takes up to 20.
const maxNotifyEvents = 7900

// notifiedEvent is an event as a notification carries it; its position
// follows from the head and its place in the batch.
type notifiedEvent struct {
	Kind    comment.EventKind `json:"k"`
	Topic   comment.TopicID   `json:"t,omitzero"`
	At      int64             `json:"at"` // Unix microseconds, as the log stores it
	Payload jsontext.Value    `json:"p"`
}

// notifyEvents is the tail of a batch's NOTIFY payload after the head: a
// newline and its events, or "" when they do not fit. payloads are the
// events' encoded payloads, as the batch stores them.
func notifyEvents(events []comment.Event, payloads [][]byte) string {
	out := make([]notifiedEvent, len(events))
	size := 0
	for i := range events {
		e := &events[i]
		size += len(payloads[i])
		if size > maxNotifyEvents {
			return ""
		}
		out[i] = notifiedEvent{Kind: e.Kind, Topic: e.Topic, At: e.At.UnixMicro(), Payload: payloads[i]}
	}
	b, err := jsonv2.Marshal(out)
	if err != nil || len(b) > maxNotifyEvents {
		return ""
	}
	return "\n" + string(b)
}

// ParseNotification reads a NOTIFY payload: the head, then, after a
// newline, the batch's events. Postgres checks nobody's payloads on the
// channel, so a payload that does not parse is only a wake-up: its head
// if that much reads, and no events.
func ParseNotification(payload string) Notification {
	head, tail, _ := strings.Cut(payload, "\n")
	var n Notification
	h, err := strconv.ParseInt(head, 10, 64)
	if err != nil || h < 0 {
		return n // a writer of an earlier version sends ""
	}
	n.Head = h
	if len(tail) == 0 {
		return n
	}
	var in []notifiedEvent
	if err := jsonv2.Unmarshal([]byte(tail), &in); err != nil || len(in) == 0 || int64(len(in)) > h {
		return n
	}
	events := make([]comment.Event, len(in))
	for i, e := range in {
		events[i] = comment.Event{Position: h - int64(len(in)) + int64(i) + 1, Kind: e.Kind, Topic: e.Topic, At: time.UnixMicro(e.At)}
		if err := events[i].DecodePayload(e.Payload); err != nil {
			return n
		}
	}
	n.Events = events
	return n
}

// NotifyQueueUsage is the share of Postgres's notification queue in use,
// 0 to 1: at 1 every commit that notifies, every write, fails.
func NotifyQueueUsage(ctx context.Context, pool *pgxpool.Pool) (float64, error) {
	var usage float64
	err := pool.QueryRow(ctx, `SELECT pg_notification_queue_usage()`).Scan(&usage)
	return usage, err
}
