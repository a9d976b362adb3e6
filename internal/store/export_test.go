package store

// PinnedPlans are the settings a batch runs under (pinPlans).
var PinnedPlans = pinnedPlans[:]

// KeyedStatements are the batch's statements that find rows by their keys,
// by name.
var KeyedStatements = map[string]string{
	"lock topics": qTopics, "known topics": qKnown, "keys": qKeys, "bans": qBansOf,
	"comments": qComments, "votes": qVotesOf, "update topics": qUpdateTopics,
	"update comments": qUpdateComments, "counts": qCounts, "withdraw votes": qWithdrawVotes,
}
