package comment

// MaxBodyBytes is the largest request body the writer reads, and nginx's
// client_max_body_size, for a content limit of maxContentBytes. Content at
// its limit may grow six times in JSON when every byte is written as a
// \u00XX escape, and 8 KiB leave room for the other fields. The writer and
// nginx both call it, so their two limits cannot drift apart.
func MaxBodyBytes(maxContentBytes int) int64 {
	return int64(maxContentBytes)*6 + 8192
}
