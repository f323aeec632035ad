// What `baton` exits with; `baton --help` lists them.
export const EXIT = {
  ok: 0,
  /** Failed, refused, not reached, or the helper could not be asked. */
  error: 1,
  /** The command line itself was wrong (unknown command or option, bad argument). */
  usage: 2,
  /** The helper was lost (or missed its deadline) during a switch: the switch goes on without us. */
  unknown: 3,
  /** `reconcile`: the registry and the machine disagree. */
  disagreement: 4,
} as const;

export const EXIT_CODES_HELP = `
Exit status:
  0  done
  1  failed, refused, or the helper could not be asked (the message says which)
  2  usage error (unknown command or option, bad argument)
  3  the helper went away or missed its deadline mid-switch: the switch goes on in the helper
     (or in its recovery); follow it with baton status and baton history
  4  baton reconcile: the registry and the machine disagree (each disagreement is printed)
`;
