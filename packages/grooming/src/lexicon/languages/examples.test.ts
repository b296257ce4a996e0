import { builtinLexiconSet, detectSignals } from '..';
import { normalizeText } from '../../normalize';
import { SIGNALS, signalsOfMask, type SignalId } from '../../signals';

/**
 * One benign, non-explicit example per signal and language. Each must raise its signal when
 * only that language's lexicon (plus `universal`) runs.
 */
const EXAMPLES: Record<string, Record<SignalId, string>> = {
  en: {
    age_probe: 'so how old are you?',
    age_disclosure: 'i am 13 years old',
    supervision_probe: 'are your parents home right now?',
    personal_probe: 'which school do you go to',
    flattery: "you're so pretty",
    mature_for_age: 'you are really mature for your age',
    exclusivity: "you're the only one who gets me",
    secrecy: "don't tell your parents about this",
    deletion_request: 'delete our chat after you read it',
    isolation: "your friends don't understand you",
    gift_offer: "I'll buy you a gift card",
    platform_move: 'add me on snapchat',
    photo_request: 'send me a pic of you',
    webcam_request: 'turn on your cam',
    pressure: 'if you really cared about me you would',
    threat: "I'll show everyone your messages",
    meeting_request: 'we should meet up this weekend',
    sexualised_language: 'what are you wearing right now',
    parent_involvement: 'please ask your mom if that is ok',
    safety_talk: 'if someone asks you for photos, tell me right away',
  },
  de: {
    age_probe: 'wie alt bist du eigentlich?',
    age_disclosure: 'ich bin 13 jahre alt',
    supervision_probe: 'sind deine eltern zuhause?',
    personal_probe: 'wo wohnst du denn?',
    flattery: 'du bist echt hübsch',
    mature_for_age: 'du bist so reif für dein alter',
    exclusivity: 'niemand versteht dich so wie ich',
    secrecy: 'das bleibt unter uns, sag es niemandem',
    deletion_request: 'lösch bitte den chat',
    isolation: 'deine eltern verstehen dich nicht',
    gift_offer: 'ich kann dir robux kaufen',
    platform_move: 'schreib mir auf whatsapp',
    photo_request: 'schick mir ein foto von dir',
    webcam_request: 'mach mal die kamera an',
    pressure: 'nach allem was ich für dich getan habe',
    threat: 'sonst zeig ich das allen deinen freunden online',
    meeting_request: 'lass uns treffen am samstag',
    sexualised_language: 'was hast du gerade an',
    parent_involvement: 'frag deine mama ob das okay ist',
    safety_talk: 'wenn dich jemand nach bildern fragt, sag es mir sofort',
  },
  fr: {
    age_probe: 'tu as quel âge ?',
    age_disclosure: "j'ai 13 ans",
    supervision_probe: 'tes parents sont à la maison ?',
    personal_probe: 'tu habites où ?',
    flattery: "t'es trop mignonne",
    mature_for_age: "t'es tellement mature pour ton âge",
    exclusivity: 'personne ne te comprend comme moi',
    secrecy: 'ça reste entre nous, ne dis rien à personne',
    deletion_request: 'supprime la conversation après',
    isolation: 'tes parents ne te comprennent pas',
    gift_offer: 'je peux t’acheter des robux',
    platform_move: 'ajoute moi sur snap',
    photo_request: 'envoie moi une photo de toi',
    webcam_request: 'allume ta caméra',
    pressure: "après tout ce que j'ai fait pour toi",
    threat: 'je vais montrer tes messages à tout le monde',
    meeting_request: 'on se voit samedi ?',
    sexualised_language: "qu'est-ce que tu portes ?",
    parent_involvement: 'demande à ta mère si c’est ok',
    safety_talk: 'si quelqu’un te demande des photos, parle moi tout de suite',
  },
  es: {
    age_probe: '¿cuántos años tienes?',
    age_disclosure: 'tengo 13 años',
    supervision_probe: '¿tus padres están en casa?',
    personal_probe: '¿dónde vives?',
    flattery: 'eres muy linda',
    mature_for_age: 'eres muy madura para tu edad',
    exclusivity: 'nadie te entiende como yo',
    secrecy: 'no le digas a nadie, es nuestro secreto',
    deletion_request: 'borra el chat cuando lo leas',
    isolation: 'tus padres no te entienden',
    gift_offer: 'te compro robux si quieres',
    platform_move: 'agrégame en whatsapp',
    photo_request: 'mándame una foto tuya',
    webcam_request: 'prende la cámara',
    pressure: 'después de todo lo que hice por ti',
    threat: 'voy a mostrar tus mensajes a todos tus amigos',
    meeting_request: 'quiero conocerte en persona',
    sexualised_language: '¿qué llevas puesto?',
    parent_involvement: 'pregúntale a tu mamá si está bien',
    safety_talk: 'si alguien te pide fotos, avísame enseguida',
  },
  nl: {
    age_probe: 'hoe oud ben je?',
    age_disclosure: 'ik ben 13 jaar',
    supervision_probe: 'zijn je ouders thuis?',
    personal_probe: 'waar woon je?',
    flattery: 'je bent echt mooi',
    mature_for_age: 'je bent zo volwassen voor je leeftijd',
    exclusivity: 'niemand begrijpt je zoals ik',
    secrecy: 'dit blijft tussen ons, zeg niks tegen niemand',
    deletion_request: 'verwijder de chat na het lezen',
    isolation: 'je ouders begrijpen je niet',
    gift_offer: 'ik koop robux voor je',
    platform_move: 'voeg me toe op snap',
    photo_request: 'stuur me een foto van jou',
    webcam_request: 'zet je camera aan',
    pressure: 'na alles wat ik voor je gedaan heb',
    threat: 'ik stuur je berichten naar iedereen online',
    meeting_request: 'zullen we afspreken zaterdag',
    sexualised_language: 'wat heb je nu aan?',
    parent_involvement: 'vraag je moeder of dat mag',
    safety_talk: 'als iemand om fotos vraagt, vertel het mij meteen',
  },
};

const set = builtinLexiconSet();

describe.each(Object.keys(EXAMPLES))('lexicon %s', (lang) => {
  const lexicons = [set.byLanguage.get(lang)!, set.byLanguage.get('universal')!];
  it.each(SIGNALS.map((s) => [s, EXAMPLES[lang][s]] as const))('raises %s for "%s"', (signal, text) => {
    expect(signalsOfMask(detectSignals(normalizeText(text), lexicons).mask)).toContain(signal);
  });
});

describe('benign sentences', () => {
  const all = set.all;
  it.each([
    'the game update is out, the new map looks great',
    'can you bring the blue folder to practice tomorrow',
    'Das Wetter ist heute wirklich schön, wir gehen schwimmen',
    'On mange à quelle heure ce soir ?',
    'Mañana tenemos examen de matemáticas',
    'Morgen hebben we een toets voor wiskunde',
  ])('raises no risk signal for "%s"', (text) => {
    const raised = signalsOfMask(detectSignals(normalizeText(text), all).mask);
    expect(raised.filter((s) => s !== 'age_disclosure')).toEqual([]);
  });
});

describe('self-stated ages', () => {
  const all = set.all;
  it.each([
    ['im 13', 13],
    ['ich bin 14', 14],
    ["j'ai 12 ans", 12],
    ['tengo 15 años', 15],
    ['ik ben 11', 11],
    ['15', 15],
  ])('"%s" states age %d', (text, age) => {
    expect(detectSignals(normalizeText(text), all).selfAge).toBe(age);
  });
  it.each(['im 5 min away', 'ich bin 10 km weg', 'i am 2 hours late'])('"%s" states no age', (text) => {
    expect(detectSignals(normalizeText(text), all).selfAge).toBeUndefined();
  });
});
