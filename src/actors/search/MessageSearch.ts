// GET /api/v1/messages/search (reference API.md §6 "Search Messages"): full-text search across the
// feeds the searcher may read, ranked, one page at a time.
//
// Search is a read that spans feeds, so it is neither a Feed entity's job (each owns one feed) nor the
// Community's (it holds no messages): it reads the database beside the entities, as history reads
// do, and asks the Community entity who may read what. It holds no state, so it needs no layer of its
// own: it runs on the SqlClient and the entity clients the server already provides.
import { Effect, Either, Schema } from "effect"
import type { SearchQuery } from "../../protocol/api/messages.js"
import { InvalidBody } from "../../protocol/errors.js"
import type { UserId } from "../../protocol/ids.js"
import { decodeCursor, encodeCursor } from "../../protocol/pagination.js"
import { SnowflakeFromString } from "../../protocol/snowflake.js"
import { dieOnStorageError } from "../../runtime/db/storageErrors.js"
import { makeFeedRepo } from "../feed/FeedRepo.js"
import { readableFeeds } from "./readableFeeds.js"
import { makeSearchRepo, type SearchPosition } from "./SearchRepo.js"
import { parseTerms } from "./terms.js"

export const DEFAULT_LIMIT = 25

/** The cursor: the score and id of the last result given (ids stay below 2^63: they are BIGINT). */
const Cursor = Schema.Struct({
  score: Schema.Number.pipe(Schema.int(), Schema.between(0, Number.MAX_SAFE_INTEGER)),
  id: SnowflakeFromString.pipe(Schema.filter((id) => id < 2n ** 63n))
})

const cursorPosition = (cursor: string | undefined) =>
  cursor === undefined
    ? Effect.succeed(undefined)
    : Either.match(decodeCursor(Cursor, cursor), {
      onLeft: () => Effect.fail(new InvalidBody({ location: "query", message: "Invalid cursor" })),
      onRight: (position): Effect.Effect<SearchPosition | undefined> => Effect.succeed(position)
    })

const encode = (position: SearchPosition) => encodeCursor({ score: position.score, id: position.id.toString() })

const SECOND = 1000

export const searchMessages = Effect.fn("MessageSearch.search")(function* (userId: UserId, query: SearchQuery) {
  const limit = query.limit ?? DEFAULT_LIMIT
  const after = yield* cursorPosition(query.cursor)
  const feedIds = yield* readableFeeds(userId, query.feed_id)
  const terms = parseTerms(query.query)
  // A query without a single word (only punctuation) matches nothing, as does a server whose feeds
  // the user may not read.
  if (terms.length === 0 || feedIds.length === 0) return { results: [], cursor: null }

  const hits = yield* (yield* makeSearchRepo).search(terms, {
    feedIds,
    authorId: query.author_id,
    // Times are compared as messages show them, in whole seconds: `before=T` is a timestamp below T,
    // `after=T` one above T.
    createdBefore: query.before === undefined ? undefined : query.before * SECOND,
    createdFrom: query.after === undefined ? undefined : (query.after + 1) * SECOND,
    hasFile: query.has_file,
    hasEmbed: query.has_embed,
    pinned: query.pinned
  }, after, limit + 1)

  const page = hits.slice(0, limit)
  const results = yield* (yield* makeFeedRepo).hydrate(page)
  const last = page[page.length - 1]
  return { results, cursor: hits.length > limit && last !== undefined ? encode(last) : null }
}, dieOnStorageError)
