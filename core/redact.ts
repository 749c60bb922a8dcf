// Secrets kept out of what is printed or logged.

/** `scheme://user:password@host` with the password replaced by ***, wherever such URLs appear in `text`. */
export function maskUrlPasswords(text: string): string {
  return text.replace(/(\b[a-z][\w+.-]*:\/\/[^\s:/@]*:)[^\s@/]+@/gi, '$1***@');
}
