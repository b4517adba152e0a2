// Group commit: work submitted while a commit is running waits, and the next commit takes all of it
// (up to a cap) in one transaction. A durable commit costs one fsync however many rows it holds, so
// under load many sends share one, and an idle feed still commits each send at once.
import { Chunk, Effect, Exit, FiberId, Queue, type Scope } from "effect"

/** How many event-loop turns a commit waits at most for sends still arriving. */
const MAX_GATHER_ROUNDS = 4

/** Resumes after the event loop has handled the I/O that is ready now (a setImmediate turn). */
const nextTurn = Effect.async<void>((resume) => {
  const handle = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(handle))
})

interface Pending<I, A, E> {
  readonly item: I
  /** Called once, with the item's own exit. */
  readonly answer: (exit: Exit.Exit<A, E>) => void
}

export interface GroupCommit<I, A, E> {
  /** Commits `item` with the next batch and answers with its own exit. */
  readonly submit: (item: I) => Effect.Effect<A, E>
  /**
   * `submit` for a caller outside any fiber (a hot path answering from a callback): `answer` is
   * called once with the item's exit. False, and nothing queued, once the commit has stopped.
   */
  readonly offer: (item: I, answer: (exit: Exit.Exit<A, E>) => void) => boolean
}

/**
 * Starts the committing fiber in the current scope. `commit` answers each item of a batch with its
 * own exit, in order (one item's failure is its own); if the commit as a whole fails (a storage
 * defect: its transaction rolled back), every item of the batch gets that failure. An item is
 * answered only after its batch's commit returned.
 */
export const makeGroupCommit = <I, A, E, R>(options: {
  readonly maxBatch: number
  readonly commit: (items: ReadonlyArray<I>) => Effect.Effect<ReadonlyArray<Exit.Exit<A, E>>, never, R>
}): Effect.Effect<GroupCommit<I, A, E>, never, R | Scope.Scope> =>
  Effect.gen(function* () {
    const queue = yield* Queue.unbounded<Pending<I, A, E>>()
    let stopped = false

    const settle = (batch: ReadonlyArray<Pending<I, A, E>>, exit: Exit.Exit<ReadonlyArray<Exit.Exit<A, E>>>) =>
      Effect.sync(() => {
        batch.forEach((pending, i) =>
          pending.answer(
            Exit.isSuccess(exit)
              ? exit.value[i] ?? Exit.die(new Error("a group commit left an item unanswered"))
              : Exit.failCause(exit.cause)
          )
        )
      })

    const interruptAll = (batch: Iterable<Pending<I, A, E>>) =>
      Effect.sync(() => {
        for (const pending of batch) pending.answer(Exit.interrupt(FiberId.none))
      })

    const commitNext = Effect.gen(function* () {
      const batch = Chunk.toArray(yield* Queue.takeBetween(queue, 1, options.maxBatch))
      // A commit blocks the event loop while SQLite syncs, so sends whose requests are already read
      // would wait behind it one commit each. Letting the event loop run first (a turn or a few, while
      // more keep arriving) brings them into this commit; an idle feed loses one turn.
      for (let round = 0; round < MAX_GATHER_ROUNDS && batch.length < options.maxBatch; round++) {
        yield* nextTurn
        const more = yield* Queue.takeUpTo(queue, options.maxBatch - batch.length)
        if (Chunk.isEmpty(more)) break
        batch.push(...more)
      }
      yield* options.commit(batch.map((p) => p.item)).pipe(
        Effect.exit,
        Effect.flatMap((exit) => settle(batch, exit)),
        // Stopped mid-commit (the entity shuts down): the transaction rolled back; say so.
        Effect.onInterrupt(() => interruptAll(batch))
      )
    })

    // Whatever is still waiting when the scope closes is answered as interrupted, never left hanging.
    yield* Effect.addFinalizer(() =>
      Effect.suspend(() => {
        stopped = true
        return Effect.flatMap(Queue.takeAll(queue), interruptAll)
      }))
    yield* Effect.forkScoped(Effect.forever(commitNext))

    const offer = (item: I, answer: (exit: Exit.Exit<A, E>) => void) => {
      if (stopped) return false
      queue.unsafeOffer({ item, answer })
      return true
    }

    return {
      offer,
      submit: (item: I) =>
        Effect.async<A, E>((resume) => {
          if (!offer(item, resume)) resume(Effect.interrupt)
        })
    }
  })
