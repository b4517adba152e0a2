// The Feed entities running in this process, by feed id: a hot path (the REST send lane) hands a send
// straight to a live entity's group commit instead of calling the entity through the cluster. The
// entity stays the feed's single writer: it is listed only while it runs here, and leaves the list
// before it stops. Only the cluster's own calls keep an entity from going idle, so an entry is offered
// to only while the entity has had one lately (`fresh`); else the caller goes through the cluster,
// which both keeps the entity alive and starts it where it is not running.
import { Context, type Exit, Layer } from "effect"
import type { SentMessage } from "../../protocol/api/messages.js"
import type { FeedId } from "../../protocol/ids.js"
import type { SendError, SendItem } from "./SendBatch.js"

export interface LocalFeed {
  /** Whether the entity was called through the cluster recently enough to take sends directly. */
  readonly fresh: () => boolean
  /** Queues a send for the entity's next commit; false, and nothing queued, once it has stopped. */
  readonly offer: (item: SendItem, answer: (exit: Exit.Exit<typeof SentMessage.Type, SendError>) => void) => boolean
}

export class LocalFeeds extends Context.Tag("vox/LocalFeeds")<LocalFeeds, Map<FeedId, LocalFeed>>() {
  static readonly Live = Layer.sync(LocalFeeds, () => new Map<FeedId, LocalFeed>())
}
