package trigger

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
)

// lagInterval is how often librdkafka reports its statistics, from which the
// consumer loop takes each partition's lag (statistics.interval.ms).
const lagInterval = 1000

// Lag is how far the trigger is behind on one partition it owns: the
// records on it that no call has completed yet.
type Lag struct {
	Topic     string
	Partition int32
	Records   int64
}

// Lags returns the lag of each partition the trigger owns, as of librdkafka's
// latest statistics (at most a second old), sorted by topic and partition.
// It is empty while Run is not consuming.
func (t *Trigger) Lags() []Lag {
	if l := t.lags.Load(); l != nil {
		return slices.Clone(*l)
	}
	return nil
}

// rdStats is the part of librdkafka's statistics the lag is read from.
type rdStats struct {
	Topics map[string]struct {
		Partitions map[string]struct {
			Partition int32 `json:"partition"`
			// ConsumerLag is the end of the partition minus the committed
			// offset, -1 while either is unknown.
			ConsumerLag int64 `json:"consumer_lag"`
			// HiOffset and LoOffset are the end and the start of the
			// partition, CommittedOffset is negative while nothing is.
			HiOffset        int64 `json:"hi_offset"`
			LoOffset        int64 `json:"lo_offset"`
			CommittedOffset int64 `json:"committed_offset"`
		} `json:"partitions"`
	} `json:"topics"`
}

// sampleLag takes the lag of the partitions the session owns from
// librdkafka's statistics. Only the consumer loop calls it.
func (s *session) sampleLag(statsJSON string) {
	var st rdStats
	if err := json.Unmarshal([]byte(statsJSON), &st); err != nil {
		s.t.log.Debug("librdkafka statistics", "err", err)
		return
	}
	lags := make([]Lag, 0, len(s.parts))
	for key := range s.parts {
		p, ok := st.Topics[key.topic].Partitions[strconv.Itoa(int(key.partition))]
		if !ok || p.HiOffset < 0 {
			continue
		}
		n := p.ConsumerLag
		if p.CommittedOffset < 0 && p.LoOffset >= 0 {
			// The group never committed here: everything on the partition
			// (auto.offset.reset is earliest) is still to be processed.
			n = p.HiOffset - p.LoOffset
		}
		if n < 0 {
			continue
		}
		lags = append(lags, Lag{Topic: key.topic, Partition: key.partition, Records: n})
	}
	slices.SortFunc(lags, func(a, b Lag) int {
		if c := strings.Compare(a.Topic, b.Topic); c != 0 {
			return c
		}
		return int(a.Partition - b.Partition)
	})
	s.t.lags.Store(&lags)
}
