package kafkaio

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/lovoo/goka"
)

// GokaLogger adapts slog to goka's logger. goka logs its life cycle
// (rebalances, recoveries) at what is info level for us.
func GokaLogger(log *slog.Logger) goka.Logger { return gokaLogger{log} }

type gokaLogger struct{ log *slog.Logger }

func (l gokaLogger) Print(v ...any)   { l.log.Debug(strings.TrimSpace(fmt.Sprint(v...))) }
func (l gokaLogger) Println(v ...any) { l.log.Debug(strings.TrimSpace(fmt.Sprintln(v...))) }
func (l gokaLogger) Printf(format string, v ...any) {
	l.log.Debug(strings.TrimSpace(fmt.Sprintf(format, v...)))
}
