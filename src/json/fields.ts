// Watches JSON text as it streams and tells when top-level fields of the object are complete:
// what a UI rendering structured output field by field can show. A byte-level state machine over
// the text seen so far (no re-parsing): O(1) per character, no allocation.
//
// A field's value is complete at its closing quote (string), at the bracket that closes it (object,
// array), or at the `,` / `}` after it (number, true, false, null: only then is it known to end).

export class TopLevelFields {
  /** Top-level fields whose values are complete. */
  complete = 0;
  private depth = 0;
  private inString = false;
  private escape = false;
  /** At depth 1, after a key's `:` and before its value completed. */
  private inValue = false;

  /** Feeds the next piece of text; returns the number of fields completed so far. */
  feed(text: string): number {
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (this.inString) {
        if (this.escape) this.escape = false;
        else if (c === 0x5c) this.escape = true;
        else if (c === 0x22) {
          this.inString = false;
          if (this.depth === 1 && this.inValue) this.done();
        }
        continue;
      }
      switch (c) {
        case 0x22: // "
          this.inString = true;
          break;
        case 0x7b: // {
        case 0x5b: // [
          this.depth++;
          break;
        case 0x7d: // }
        case 0x5d: // ]
          this.depth--;
          if ((this.depth === 1 || this.depth === 0) && this.inValue) this.done();
          break;
        case 0x3a: // :
          if (this.depth === 1) this.inValue = true;
          break;
        case 0x2c: // ,
          if (this.depth === 1 && this.inValue) this.done();
          break;
        default:
      }
    }
    return this.complete;
  }

  private done(): void {
    this.complete++;
    this.inValue = false;
  }
}
