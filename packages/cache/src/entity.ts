/** The tag `invalidateEntity(type, id)` invalidates: put it on entries derived from that entity. */
export function entityTag(type: string, id: string | number): string {
  return `${type}:${id}`
}
