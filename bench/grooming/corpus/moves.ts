/**
 * Move keys of the synthetic corpus: each is one conversational act. Phrase pools per language
 * list 4+ phrasings per key; the generator gives even-indexed phrasings to the tuning split and
 * odd-indexed ones to the held-out test split, so the test split never reuses a tuning phrasing.
 *
 * Placeholders: {age} (child's age), {adultAge}, {teenAge}, {game}, {place}, {time}, {amount},
 * {app}, {day}.
 */
export const MOVES = [
  // grooming: the adult
  'g_greet', 'g_age_probe', 'g_claim_teen', 'g_flattery', 'g_mature', 'g_personal', 'g_supervision', 'g_exclusive',
  'g_secrecy', 'g_deletion', 'g_isolation', 'g_gift', 'g_platform', 'g_photo', 'g_webcam', 'g_pressure', 'g_threat',
  'g_meeting', 'g_sexualised',
  // grooming: the child
  'c_age_answer', 'c_alone', 'c_hesitant', 'c_ok',
  // teenagers flirting
  't_compliment', 't_age_share', 't_ask_pic', 't_meet', 't_crush_secret', 't_snap',
  // a parent and their child (pick-ups, errands)
  'p_where', 'p_pickup', 'p_home', 'p_love', 'c_parent_reply',
  // coach or tutor with parents involved
  'co_praise', 'co_schedule', 'co_form', 'co_parent_cc',
  // adults dating
  'd_compliment', 'd_meet', 'd_pic', 'd_age', 'd_miss',
  // gamers trading
  'gm_trade', 'gm_discord', 'gm_screenshot', 'gm_age',
  // siblings
  's_secret', 's_delete', 's_pickup',
  // discussing grooming / online safety, a parent warning their child
  'sd_topic', 'sd_article', 'sd_school', 'pw_warn', 'pw_never', 'pw_block',
  // grandparent or relative
  'gp_gift', 'gp_photo', 'gp_love', 'gp_visit',
  // filler chat
  'f_chat', 'f_reply',
] as const;

/** A move key. */
export type Move = (typeof MOVES)[number];

/** A language's phrase pools. */
export type PhrasePool = Record<Move, string[]>;
