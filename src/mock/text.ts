// Deterministic text: the words of a response are drawn from a fixed vocabulary by an Rng
// seeded from (mock seed, prompt), so the same prompt against the same seed always yields
// the same text and anyone can recompute it with mockText(). One word (with its trailing
// space) is one token, which keeps usage counts exact and checkable.
import { hashString, Rng } from '../random.js';

const WORDS = `the of and to in is that for it as was with be by on not he this are or his from at which
but have an they you were her she there one all we their has been would more when will who can said
if so no time out up into them some could about than other then its only two these may first any new
like now our over such very after also most made many before must through back years where much your
way well down should because each just those people how too little state good world very make still own
see men work long get here between both life being under never day same another know while last might
us great old year off come since against go came right used take three states himself few house use
during without again place american around however home small found thought went say part once general
high upon school every united left number course war until always away something fact though water less
public put think almost hand enough far took head yet government system better set told nothing night end
why called didn find going look asked later point knew city next program business give group toward young
days let room president side social given present several order national possible rather second face per
among form important often things looked early white case john become large big need four within felt
along children saw best church ever least power development light thing seemed family interest want members
mind country area others done turned although open god service certain kind problem began different door
thus help sense means whole matter perhaps itself york times law human line above name example action company
hands local show five history whether gave either today act feet across taken past quite anything seen having
death experience body word half really field week car words already information tell college shall money
period held keep sure free probably seems political real cannot behind miss question air office making
brought whose special heard major problems ago became federal moment study available known result street
economic boy position reason change south board individual job areas society west close turn love community
true court force full seem am age wife future voice center woman control common policy necessary following
front sometimes six girl clear further land run students provide feel party able mother music education
university child effect level stood military town short morning total outside rate figure class art century
washington north usually leave therefore evidence million sound top black strong hard various says believe
type value play surface soon mean near lines table peace modern tax road red book personal process situation
minutes increase schools idea english alone women gone nor living months america started longer dark
private cut view recent`
  .split(/\s+/)
  .filter((w) => w !== '');

/** The vocabulary; each entry is one token's text (a word followed by a space). */
export const VOCAB: readonly string[] = WORDS.map((w) => `${w} `);

/** The Rng that draws a response's words and length. */
export function textRng(seed: number, promptKey: string): Rng {
  return new Rng(`${seed}\u0000${promptKey}`);
}

/** A stable key for a request's prompt: a hash of its messages (and system prompt). */
export function promptKey(prompt: string): string {
  const h = hashString(prompt);
  return `${h[0]!.toString(36)}${h[1]!.toString(36)}`;
}

/** The exact text the mock sends for `tokens` tokens of a response to `prompt` under `seed`. */
export function mockText(seed: number, prompt: string, tokens: number): string {
  const rng = textRng(seed, promptKey(prompt));
  let out = '';
  for (let i = 0; i < tokens; i++) out += VOCAB[rng.int(VOCAB.length)];
  return out;
}
