import { normalizeLexiconWord, normalizeText } from './normalize';

describe('normalizeText', () => {
  it.each([
    // [input, expected]
    ['Are You ALONE?', ' are you alone '],
    ['s3cr3t', ' secret '],
    ['d3l3t3 th1s ch4t', ' delete this chat '],
    ['$nap', ' snap '],
    ['ѕесrеt', ' secret '], // Cyrillic s, e, c, e
    ['ρhοtο', ' photo '], // Greek rho, omicron
    ['ｓｅｃｒｅｔ', ' secret '], // full-width
    ['𝐬𝐞𝐜𝐫𝐞𝐭', ' secret '], // mathematical bold
    ['se\u200Bcr\u200Det', ' secret '], // zero-width space and joiner
    ['sec\u00ADret', ' secret '], // soft hyphen
    ['seeeecreeet', ' secret '],
    ['s n a p', ' snap '],
    ['s.e.c.r.e.t', ' secret '],
    ['s-n-a-p me', ' snap me '],
    ['p.i.c', ' pic '],
    ["don't", ' dont '],
    ['I’m 13yo', ' im 13 yo '],
    ['send 📸 pls', ' send emjcamera pls '],
    ['ok 🤫🤫', ' ok emjsecret emjsecret '],
    ['hi!!! 😀', ' hi '],
    ['', ' '],
  ])('%j -> %j', (input, expected) => {
    expect(normalizeText(input)).toBe(expected);
  });

  it.each([
    ['de', 'Bist du ALLEINE zu Häuse? Das bleibt gehéim', ' bist du aleine zu hause das bleibt geheim '],
    ['de', 'Straße', ' strase '],
    ['fr', "T'es seule à la maisön ?", ' tes seule a la maison '],
    ['fr', 'ç4 r3ste entre nous', ' ca reste entre nous '],
    ['es', '¿Cuántos AÑOS tienes?', ' cuantos anos tienes '],
    ['es', 'n4d1e lo s4be', ' nadie lo sabe '],
    ['nl', 'Zijn je ouders thuuuis?', ' zijn je ouders thuis '],
    ['nl', 'g e h e i m', ' geheim '],
    ['en', 'ur s0 m@ture', ' ur so mature '],
  ])('%s: %j', (_lang, input, expected) => {
    expect(normalizeText(input)).toBe(expected);
  });

  it('keeps plain numbers and short spaced words', () => {
    expect(normalizeText('im 13 and u?')).toBe(' im 13 and u ');
    expect(normalizeText('r u ok')).toBe(' r u ok ');
  });

  it('ignores input beyond the length cap', () => {
    expect(normalizeText('a '.repeat(5000)).length).toBeLessThan(2100);
  });
});

describe('normalizeLexiconWord', () => {
  it('folds like the input but keeps digits', () => {
    expect(normalizeLexiconWord('Mädchen')).toBe('madchen');
    expect(normalizeLexiconWord("j'ai")).toBe('jai');
    expect(normalizeLexiconWord('meet')).toBe('met');
    expect(normalizeLexiconWord('3018')).toBe('3018');
  });
});
