import type { z } from 'zod'
import { badRequest } from './problem.js'

/**
 * Parses `input` with `schema`, or throws a 400 listing every invalid field, before
 * anything is written.
 *
 * @example
 * const body = validate(registerSchema, req.body)
 */
export function validate<Schema extends z.ZodType>(
  schema: Schema,
  input: unknown,
  where = 'body',
): z.output<Schema> {
  const result = schema.safeParse(input ?? {})
  if (result.success) return result.data
  const errors = result.error.issues.map((issue) => ({
    field: issue.path.length > 0 ? issue.path.map(String).join('.') : where,
    message: issue.message,
  }))
  throw badRequest(`The request ${where} is invalid`, errors)
}
