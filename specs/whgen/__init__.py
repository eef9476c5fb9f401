# SPDX-License-Identifier: MIT
"""whgen: Wormhole's API-remoting generator (Python 3 standard library only).

One module per concern, in the order data flows:
  source    locations and the one error type (FILE:LINE: message)
  parser    spec text -> model, with locations and spec comments
  model     what a spec declares
  check     the schema checker: rejects whatever it does not understand
  cgen      C emission helpers and the error-model placeholders
  gentypes  PREFIX_ids.h: ids, kinds, versions, transport-error mapping
  client    client stubs          server  server decoders
  docs      Markdown reference    stats   how much is generated
  main      command line
The language is documented in specs/README.md."""
