import PocketBase, { LocalAuthStore } from "pocketbase";

/** The API's base URL: the dashboard is served at <base>/_/, the API at <base>/api/. */
export const apiBase = location.origin + location.pathname.replace(/\/_\/?.*$/, "/");

/** The one SDK client of the dashboard; its superuser session survives reloads in localStorage. */
export const pb = new PocketBase(apiBase, new LocalAuthStore("__basalt_superuser_auth__"));
pb.autoCancellation(false);

/** Whether the stored session is a superuser's and not expired. */
export function isSuperuser() {
  return pb.authStore.isValid && pb.authStore.record?.collectionName === "_superusers";
}

/** A readable message of an SDK error (or anything thrown). */
export function errorMessage(err) {
  if (!err) return "";
  const data = err.response?.data;
  if (data && typeof data === "object") {
    const first = Object.entries(data).find(([, v]) => v && typeof v === "object" && "message" in v);
    if (first) return `${err.response.message || "Error"} ${first[0]}: ${first[1].message}`;
  }
  return err.response?.message || err.message || String(err);
}

/** Field errors of an SDK error as a flat `{name: message}` map. */
export function fieldErrors(err) {
  const out = {};
  const walk = (obj, prefix) => {
    for (const [key, value] of Object.entries(obj ?? {})) {
      if (value && typeof value === "object" && typeof value.message === "string")
        out[prefix + key] = value.message;
      else if (value && typeof value === "object") walk(value, `${prefix}${key}.`);
    }
  };
  walk(err?.response?.data, "");
  return out;
}
