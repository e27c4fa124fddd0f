/** Text of one cell of the records table for a field's value. */
export function cellText(field, value, expanded) {
  if (value === null || value === undefined || value === "") return "";
  if (expanded) {
    const list = Array.isArray(expanded) ? expanded : [expanded];
    return list.map(recordLabel).join(", ");
  }
  switch (field?.type) {
    case "bool":
      return value ? "yes" : "no";
    case "json":
    case "geoPoint":
      return JSON.stringify(value);
    case "editor":
      return String(value)
        .replace(/<[^>]*>/g, " ")
        .replace(/\s+/g, " ")
        .trim();
    default:
      return Array.isArray(value) ? value.join(", ") : String(value);
  }
}

/** A short human label of a record: its first presentable, name-like or text value, else its id. */
export function recordLabel(record) {
  if (!record || typeof record !== "object") return String(record ?? "");
  for (const key of ["name", "title", "label", "email", "username", "slug"]) {
    if (typeof record[key] === "string" && record[key]) return record[key];
  }
  return record.id;
}

/** A stored date ("2006-01-02 15:04:05.000Z") as an <input type=datetime-local> value, in UTC. */
export function toLocalInput(value) {
  if (!value) return "";
  return String(value)
    .replace(" ", "T")
    .replace(/(\.\d+)?Z$/, "")
    .slice(0, 19);
}

/** An <input type=datetime-local> value (read as UTC) as a stored date. */
export function fromLocalInput(value) {
  if (!value) return "";
  const v = value.length === 16 ? `${value}:00` : value;
  return `${v.replace("T", " ")}.000Z`;
}

/** Whether a file name looks like an image the browser can preview. */
export function isImageName(name) {
  return /\.(png|jpe?g|gif|webp|avif|svg|bmp|ico)$/i.test(name);
}

/** A duration in milliseconds as a short text ("850 ms", "12 s", "3 min", "2 h"). */
export function duration(ms) {
  const n = Number(ms) || 0;
  if (n < 1000) return `${Math.round(n)} ms`;
  if (n < 60_000) return `${Math.round(n / 1000)} s`;
  if (n < 3_600_000) return `${Math.round(n / 60_000)} min`;
  return `${Math.round(n / 3_600_000)} h`;
}
