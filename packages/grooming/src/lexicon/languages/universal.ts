import type { LanguageLexicon } from '../schema';

/**
 * Language-neutral tokens: app names, game currencies and the emoji tokens produced by the
 * normaliser. Applied to every conversation whatever its language.
 */
export const universal: LanguageLexicon = {
  language: 'universal',
  name: 'Language-neutral tokens',
  stopwords: [],
  selfAge: [],
  signals: {
    platform_move: ['snapchat|kik|wickr|telegram|threema|viber|wechat|omegle|imessage'],
    gift_offer: ['robux|vbucks|nitro|giftcard|paysafecard|emjgift|emjmoney', 'v bucks'],
    secrecy: ['emjsecret'],
    deletion_request: ['emjdelete'],
    sexualised_language: ['emjsuggestive'],
  },
};
