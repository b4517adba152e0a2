// What a search query means, the same on both databases: every word of it must appear in the
// message (in any order, case-insensitively); a word written with a trailing `*` also matches the
// words it begins. Everything else (quotes, AND/OR/NOT, minus signs, brackets, column filters) is
// plain punctuation, so no user input can reach either engine's query syntax: the engines only ever
// see words made of letters and digits, quoted. Words are split as the index splits bodies
// (0004_search.ts): runs of letters, digits and combining marks.

export interface Term {
  readonly word: string
  readonly prefix: boolean
}

const WORD = /([\p{L}\p{N}\p{M}]+)(\*)?/gu

/** At most this many words count; a 256-character query rarely comes close. */
export const MAX_TERMS = 32

/**
 * The words of a query, each once (a prefix form wins over the exact one: it finds more). Case is
 * left to the engines, which fold it exactly as they folded the bodies they indexed.
 */
export const parseTerms = (query: string): ReadonlyArray<Term> => {
  const byWord = new Map<string, boolean>()
  for (const match of query.matchAll(WORD)) {
    const word = match[1]!
    byWord.set(word, (byWord.get(word) ?? false) || match[2] !== undefined)
  }
  return [...byWord].slice(0, MAX_TERMS).map(([word, prefix]) => ({ word, prefix }))
}

/** An FTS5 MATCH expression: each word a quoted string, optionally a prefix query, all required. */
export const fts5Match = (terms: ReadonlyArray<Term>): string =>
  terms.map((t) => `"${t.word}"${t.prefix ? "*" : ""}`).join(" AND ")

/** A `to_tsquery` text: each word a quoted lexeme, optionally a prefix (`:*`), all required (`&`). */
export const tsquery = (terms: ReadonlyArray<Term>): string =>
  terms.map((t) => `'${t.word}'${t.prefix ? ":*" : ""}`).join(" & ")
