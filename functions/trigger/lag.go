package trigger

import "github.com/auctionflow/auction/internal/kafkaio"

// lagInterval is how often librdkafka reports its statistics, from which the
// trigger's kafkaio.Group takes each partition's lag (statistics.interval.ms).
const lagInterval = 1000

// Lags returns the lag of each partition the trigger owns, as of librdkafka's
// latest statistics (at most a second old), sorted by topic and partition.
// It is empty while Run is not consuming.
func (t *Trigger) Lags() []kafkaio.Lag {
	if g := t.group.Load(); g != nil {
		return g.Lags()
	}
	return nil
}
