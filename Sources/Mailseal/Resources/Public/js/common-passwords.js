// Common passwords of 12 characters or more, lowercased (from public leak
// frequency lists). Shorter ones are refused by the length rule anyway.
export const COMMON_PASSWORDS = new Set([
  "123456789012", "1234567890123", "12345678901234", "123456789012345", "1234567890qwerty", "123456123456",
  "111111111111", "000000000000", "123123123123", "121212121212", "112233445566", "987654321098",
  "password1234", "password12345", "password123456", "passwordpassword", "password1234567", "passwort1234",
  "passwort12345", "qwertyuiop12", "qwertyuiop123", "qwerty123456", "qwerty1234567", "qwertyqwerty",
  "qwertzuiop12", "qwertz123456", "asdfghjkl123", "asdfghjkl1234", "1q2w3e4r5t6y", "1q2w3e4r5t6y7u",
  "1qaz2wsx3edc", "1qaz2wsx3edc4rfv", "zaq12wsxcde3", "q1w2e3r4t5y6", "1234qwerasdf", "qwer1234asdf",
  "iloveyou1234", "iloveyouiloveyou", "welcome12345", "welcome123456", "letmein12345", "letmeinletmein",
  "monkey123456", "dragon123456", "football1234", "baseball1234", "sunshine1234", "princess1234",
  "superman1234", "trustno1trustno1", "abcdefghijkl", "abcdefghijk1", "abc123abc123", "adminadmin123",
  "administrator", "administrator1", "changeme1234", "changemenow!", "hallo1234567", "schatz123456",
  "sommer123456", "winter123456", "fruehling123", "herbst123456", "deutschland1", "deutschland123",
  "passwort123!", "password123!", "password2024", "password2025", "password2026", "passwort2024",
  "passwort2025", "passwort2026", "sommer2025!!", "winter2025!!", "summer2025!!", "qwertyuiopasdfgh",
  "starwars1234", "pokemon12345", "michael12345", "jennifer1234", "computer1234", "internet1234",
  "universitaet", "universität1", "university12", "studentstudent", "zertifikat12", "certificate1",
  "correcthorsebatterystaple", "thequickbrownfox", "mypassword123", "meinpasswort1", "geheim123456",
  "secret123456", "secretsecret", "topsecret123", "freedom12345", "whatever1234", "trustno12345",
]);
