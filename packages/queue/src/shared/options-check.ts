// Compile-time checks that tie an options interface to its zod schema.

/**
 * `true` when A and B have exactly the same keys, a type error otherwise: declare
 * `type X = SameKeys<z.input<typeof schema>, FooOptions>` beside a schema, and adding an
 * option to one but not the other fails the build.
 */
export type SameKeys<A, B> = [Exclude<keyof A, keyof B>, Exclude<keyof B, keyof A>] extends [never, never]
  ? true
  : { error: 'keys differ'; onlyInFirst: Exclude<keyof A, keyof B>; onlyInSecond: Exclude<keyof B, keyof A> }

/** Compiles only when `T` is `true`: `type Check = Expect<SameKeys<A, B>>`. */
export type Expect<T extends true> = T
