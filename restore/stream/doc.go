// Package stream runs tasks with bounded concurrency and yields their
// results in input order: the port of backup-cli's
// futures::stream::iter(tasks).buffered_x(2*C, C)
// (docs/backup-cli.md#stream).
//
// Two bounds apply, as in buffered_x: task i starts only when
// i < consumed + buffer (results not yet taken by the consumer count
// against the buffer, whether their tasks are queued, running or done) and
// fewer than concurrency tasks are running. Tasks start in input order, and
// only while the consumer is inside Next: in Rust a future does nothing
// until the stream is polled, and the stream is polled only while the
// consumer awaits its next item.
//
// The same is true of a running task's progress, and the Gate models it: a
// task calls Gate.Pass before each read, and Pass blocks while the consumer
// is not inside Next. So while the consumer is busy with a result (writing
// it to the database, in the restore), every in-flight task stops at its
// next read, and a child process feeding that read blocks once its pipe
// fills: exactly what the real restore does, and what leak tests must see.
//
//	o := stream.NewOrdered(ctx, tasks, 2*c, c)
//	defer o.Wait()  // runs last: every started task has returned
//	defer o.Abort() // runs first: cancels what is still running
//	for {
//		res, ok := o.Next()
//		if !ok {
//			break
//		}
//		if res.Err != nil {
//			return res.Err // the deferred Abort drops the rest, like dropping the Rust stream
//		}
//		consume(res)
//	}
//
// A task looks like:
//
//	func(ctx context.Context, g *stream.Gate) Result {
//		for {
//			if err := g.Pass(ctx); err != nil {
//				return Result{Err: err}
//			}
//			n, err := r.Read(buf)
//			…
//		}
//	}
//
// Unlike the Rust stream, which cancels a dropped future by never polling
// it again, Abort cancels the tasks' context: a task blocked in Pass returns
// at once, and one blocked in a read returns when the read does (a reader
// that owns a child must be closed to unblock it; that is the adapter's
// business, not this package's). Wait then tells when every task has
// returned; it is the caller's choice whether to wait at all (the leaky
// restore does not).
package stream
