/** The current hash route, split into segments: `#/collections/posts` → ["collections", "posts"]. */
export const route = $state({ path: [], query: new URLSearchParams() });

function read() {
  const hash = location.hash.replace(/^#\/?/, "");
  const [path, query = ""] = hash.split("?");
  route.path = path.split("/").filter(Boolean).map(decodeURIComponent);
  route.query = new URLSearchParams(query);
}

read();
window.addEventListener("hashchange", read);

/** Navigates to a hash route. */
export function go(path) {
  location.hash = `#/${path.replace(/^[#/]+/, "")}`;
}
