// Entity RPC payloads on hot paths. RpcClient checks every payload with its schema's `make` before
// sending it. Schema.Struct's own `make` derives the struct's type-side AST anew on each call, and
// when a field transforms (a snowflake, a permission set) that AST is a new object, so Effect compiles
// a new validator for every single call. This struct validates with one validator, compiled once.
import { ParseResult, Schema } from "effect"

export const rpcPayload = <Fields extends Schema.Struct.Fields>(fields: Fields): Schema.Struct<Fields> => {
  const struct = Schema.Struct(fields).annotations({})
  const validate = ParseResult.validateSync(Schema.typeSchema(struct))
  struct.make = (props, options) => {
    const skip = typeof options === "boolean" ? options : options?.disableValidation === true
    return (skip ? props : validate(props)) as ReturnType<typeof struct.make>
  }
  return struct
}
