export default {
  compilerOptions: {
    runes: true,
    // Editors are re-created (keyed) for each record or collection they edit, so reading a prop's initial
    // value once is what they mean to do.
    warningFilter: (warning) => warning.code !== "state_referenced_locally",
  },
};
