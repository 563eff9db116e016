package trigger

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
)

// Recover turns a panic of next into an error of its call, logged with its
// stack to log. A handler that panics on one record (a nil map, an index
// out of range) would otherwise take every partition of the process down
// with it, and take them down again after each restart, since the record is
// met again; as an error it is a failure like any other, retried and then
// dead-lettered when Retry and DeadLetter wrap Recover.
func Recover(log *slog.Logger) Middleware {
	return func(next Handler) Handler {
		return func(ctx context.Context, batch []Record) (err error) {
			defer func() {
				if r := recover(); r != nil {
					log.ErrorContext(ctx, "handler panicked", "panic", r, "stack", string(debug.Stack()))
					err = fmt.Errorf("handler panicked: %v", r)
				}
			}()
			return next(ctx, batch)
		}
	}
}
