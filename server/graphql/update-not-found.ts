/**
 * An update of a row the caller may not change (RLS hides it, or it does not exist) is NOT_FOUND, as the same
 * delete is. PostGraphile's delete step flags "No values were deleted in collection …" when no row matched, which
 * maskError (errors.ts, PLAIN_REFUSALS) answers NOT_FOUND; its update step instead returns null, so updateSquad
 * and updateProfile answered `{squad: null}` with no error, and a client could not tell "not yours" from a
 * success that selected nothing. Each generated update mutation gets the delete's refusal, with the delete's words.
 * The rule stays the database's: whether a row matched is RLS's answer; this only says so.
 */
import { flagError, lambda, object, type ExecutableStep, type ObjectStep } from "postgraphile/grafast";

export const UpdateNotFoundPlugin: GraphileConfig.Plugin = {
  name: "NexusUpdateNotFoundPlugin",
  version: "1.0.0",
  description: "A generated update that matched no row the caller may change is NOT_FOUND, as the delete is.",
  schema: {
    hooks: {
      GraphQLObjectType_fields_field(field, _build, context) {
        const { isRootMutation, isPgUpdateMutation, pgFieldResource } = context.scope as typeof context.scope & {
          isPgUpdateMutation?: boolean;
          pgFieldResource?: { name: string };
        };
        const plan = field.plan;
        if (!isRootMutation || !isPgUpdateMutation || !plan) return field;
        const collection = pgFieldResource?.name ?? "unknown";
        return {
          ...field,
          plan(...args: Parameters<typeof plan>) {
            const $payload = plan(...args) as ObjectStep<{ result: ExecutableStep }>;
            const $result = $payload.get("result");
            const $matched = lambda(
              $result,
              (row) =>
                row == null
                  ? flagError(new Error(`No values were updated in collection '${collection}' because no values you can update were found matching these criteria.`))
                  : true,
              true,
            );
            return object({ result: $result, matched: $matched });
          },
        };
      },
    },
  },
};
