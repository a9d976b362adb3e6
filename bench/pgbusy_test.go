package main

import "testing"

func TestBusyOf(t *testing.T) {
	tests := []struct {
		name string
		row  backendRow
		want [busyKinds]int
	}{
		{"autovacuum worker", backendRow{backendType: "autovacuum worker", state: "active"}, [busyKinds]int{busyAutovacuum: 1}},
		{"checkpointer between checkpoints", backendRow{backendType: "checkpointer", waitType: "Activity", wait: "CheckpointerMain"}, [busyKinds]int{}},
		{"checkpointer writing", backendRow{backendType: "checkpointer", waitType: "Timeout", wait: "CheckpointWriteDelay"}, [busyKinds]int{busyCheckpoint: 1}},
		{"idle client", backendRow{backendType: "client backend", state: "idle", query: "DELETE FROM view_ranges WHERE topic_id = $1"}, [busyKinds]int{}},
		{"compaction", backendRow{backendType: "client backend", state: "active", query: "DELETE FROM view_ranges WHERE topic_id = $1"}, [busyKinds]int{busyActive: 1, busyCompaction: 1}},
		{"compaction's fold", backendRow{backendType: "client backend", state: "active", query: "UPDATE comments c SET views = LEAST("}, [busyKinds]int{busyActive: 1, busyCompaction: 1}},
		{"a batch waiting on a row lock", backendRow{backendType: "client backend", state: "active", waitType: "Lock", wait: "transactionid", query: "SELECT topic_id"}, [busyKinds]int{busyActive: 1, busyLock: 1}},
		{"a batch waiting on WAL insertion", backendRow{backendType: "client backend", state: "active", waitType: "LWLock", wait: "WALWrite", query: "INSERT INTO events"}, [busyKinds]int{busyActive: 1, busyLWLock: 1}},
		{"a commit syncing WAL", backendRow{backendType: "client backend", state: "active", waitType: "IO", wait: "WALSync", query: "COMMIT"}, [busyKinds]int{busyActive: 1, busyIO: 1}},
		{"a reader waiting for its client", backendRow{backendType: "client backend", state: "active", waitType: "Client", wait: "ClientWrite", query: "SELECT position"}, [busyKinds]int{busyActive: 1}},
		{"walwriter", backendRow{backendType: "walwriter", waitType: "Activity", wait: "WalWriterMain"}, [busyKinds]int{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n [busyKinds]int
			busyOf(tt.row, &n)
			if n != tt.want {
				t.Errorf("busyOf(%+v) = %v, want %v", tt.row, n, tt.want)
			}
		})
	}
}

func TestBusyCell(t *testing.T) {
	var m [busyKinds]float64
	if got := busyCell(m, 0); got != "–" {
		t.Errorf("no samples: %q, want –", got)
	}
	m[busyAutovacuum], m[busyActive], m[busyIO] = 1, 2.5, 0.25
	if got, want := busyCell(m, 300), "1.00 / 0.00 / 0.00 / 2.50 (0.00, 0.00, 0.25)"; got != want {
		t.Errorf("busyCell = %q, want %q", got, want)
	}
}
