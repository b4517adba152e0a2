// What a fresh community starts with (the @everyone default lives with the permission bits).
import { MAX_POSITION } from "../../protocol/api/fields.js"

export const ADMIN_ROLE_NAME = "Admin"

/**
 * The Admin role sits at the highest position there is: no role anyone else creates can rank above
 * it, so administrators outrank every other role (the role hierarchy, reference database.md).
 */
export const ADMIN_ROLE_POSITION = MAX_POSITION
