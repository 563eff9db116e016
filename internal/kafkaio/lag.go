package kafkaio

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
)

// Lag is how far a consumer is behind on one partition it owns: the records
// on it that it has not yet processed. The function triggers' Group takes it
// from librdkafka's statistics, the auction processor from goka's; the
// metrics report both alike.
type Lag struct {
	Topic     string
	Partition int32
	Records   int64
}

// SortLags orders lags by topic and partition.
func SortLags(lags []Lag) {
	slices.SortFunc(lags, func(a, b Lag) int {
		if c := strings.Compare(a.Topic, b.Topic); c != 0 {
			return c
		}
		return int(a.Partition - b.Partition)
	})
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
// librdkafka's statistics. Unreadable statistics keep the last sample.
func (s *Session) sampleLag(statsJSON string) {
	lags, err := lagsOf(statsJSON, s.owned)
	if err != nil {
		s.g.log.Debug("librdkafka statistics", "err", err)
		return
	}
	s.g.lags.Store(&lags)
}

// lagsOf reads the lag of the owned partitions from librdkafka's statistics.
// The lag is what is committed, not what is fetched: a consumer commits a
// record once it is done with it.
func lagsOf(statsJSON string, owned map[partitionKey]bool) ([]Lag, error) {
	var st rdStats
	if err := json.Unmarshal([]byte(statsJSON), &st); err != nil {
		return nil, err
	}
	lags := make([]Lag, 0, len(owned))
	for key := range owned {
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
	SortLags(lags)
	return lags, nil
}
