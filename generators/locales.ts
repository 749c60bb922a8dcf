/**
 * Locales the generator offers. Each maps to faker locale data (imported by name so a bundler keeps only
 * these), a default region for GPS values and a UTC offset for timestamps, so a corpus "looks like" a
 * deployment in that part of the world.
 */
import { Faker, base, en, en_IN, en_NG, en_ZA, es, fr, fr_SN, ne, pt_BR, type LocaleDefinition } from '@faker-js/faker';

export interface LocaleInfo {
  faker: LocaleDefinition[];
  region: { lat: number; lon: number; radiusKm: number };
  utcOffsetMinutes: number;
  description: string;
}

export const LOCALES = {
  en: {
    faker: [en, base],
    region: { lat: -15.3875, lon: 28.3228, radiusKm: 60 },
    utcOffsetMinutes: 120,
    description: 'English (Zambia-like region, UTC+2)',
  },
  en_IN: {
    faker: [en_IN, en, base],
    region: { lat: 26.8467, lon: 80.9462, radiusKm: 80 },
    utcOffsetMinutes: 330,
    description: 'English, India (Uttar Pradesh, UTC+5:30)',
  },
  en_NG: {
    faker: [en_NG, en, base],
    region: { lat: 12.0022, lon: 8.592, radiusKm: 80 },
    utcOffsetMinutes: 60,
    description: 'English, Nigeria (Kano, UTC+1)',
  },
  en_ZA: {
    faker: [en_ZA, en, base],
    region: { lat: -29.8587, lon: 31.0218, radiusKm: 60 },
    utcOffsetMinutes: 120,
    description: 'English, South Africa (KwaZulu-Natal, UTC+2)',
  },
  fr: {
    faker: [fr, en, base],
    region: { lat: 18.5944, lon: -72.3074, radiusKm: 50 },
    utcOffsetMinutes: -300,
    description: 'French (Haiti-like region, UTC-5)',
  },
  fr_SN: {
    faker: [fr_SN, fr, en, base],
    region: { lat: 14.7167, lon: -17.4677, radiusKm: 70 },
    utcOffsetMinutes: 0,
    description: 'French, Senegal (Dakar, UTC)',
  },
  es: {
    faker: [es, en, base],
    region: { lat: 14.6349, lon: -90.5069, radiusKm: 70 },
    utcOffsetMinutes: -360,
    description: 'Spanish (Guatemala-like region, UTC-6)',
  },
  pt_BR: {
    faker: [pt_BR, en, base],
    region: { lat: -8.0476, lon: -34.877, radiusKm: 70 },
    utcOffsetMinutes: -180,
    description: 'Portuguese, Brazil (Pernambuco, UTC-3)',
  },
  ne: {
    faker: [ne, en, base],
    region: { lat: 27.7172, lon: 85.324, radiusKm: 60 },
    utcOffsetMinutes: 345,
    description: 'Nepali (Kathmandu, UTC+5:45)',
  },
} satisfies Record<string, LocaleInfo>;

export type LocaleName = keyof typeof LOCALES;
export const LOCALE_NAMES = Object.keys(LOCALES) as LocaleName[];

export function isLocaleName(s: string): s is LocaleName {
  return Object.prototype.hasOwnProperty.call(LOCALES, s);
}

export function localeInfo(name: string): LocaleInfo {
  if (!isLocaleName(name)) throw new Error(`unknown locale "${name}" (expected one of: ${LOCALE_NAMES.join(', ')})`);
  return LOCALES[name];
}

export function newFaker(name: string): Faker {
  return new Faker({ locale: localeInfo(name).faker });
}
