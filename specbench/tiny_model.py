"""The built-in tiny model: a synthetic target/draft pair built offline, so specbench runs anywhere.

Nothing is downloaded: a byte-level BPE tokenizer is trained on a short built-in English text and two
Llama models get seeded random weights. Speed figures are real (the code paths are those of any Llama);
the generated text is noise.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from specbench.errors import ConfigError

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerFast

# Bump when the files written by build_tiny_model change, so existing caches are rebuilt.
TINY_MODEL_VERSION = 1
VOCAB_SIZE = 2000
HIDDEN_SIZE = 256
TARGET_LAYERS = 4
DRAFT_LAYERS = 1
HEAD_DIM = 32  # vLLM's CPU attention needs head_dim >= 32
MAX_POSITIONS = 2048
SEED = 1234
# Residual branches (attention and MLP output projections) start this much smaller than the other
# weights. With full-size random branches every layer scrambles the residual stream and a 1-layer
# draft agrees with the 4-layer target about as often as chance; at 0.07 it agrees on roughly two
# greedy tokens in three, like a real draft.
RESIDUAL_SCALE = 0.07
INIT_STD = 0.02

PAD_TOKEN, BOS_TOKEN, EOS_TOKEN = "<pad>", "<s>", "</s>"

TINY_MODEL_NOTE = (
    f"built-in tiny synthetic model (random weights, {VOCAB_SIZE}-token BPE vocabulary): speed figures "
    "are real, generated text is noise; the draft is the target cut down to its first layer, so "
    "speculative decoding accepts a realistic fraction of drafted tokens"
)

_CORPUS = """\
The morning train left the station a few minutes late, as it did most days in winter. Frost covered the
rails, and the driver waited for the signal to turn green before easing the heavy carriages forward.
Passengers read newspapers, checked their phones, or simply watched the fields slide past the window.
A child counted the cows in each meadow and lost track somewhere after forty.

In the kitchen, the baker measured flour, water, salt and yeast. She mixed them by hand, folded the
dough every half hour, and let it rest until it had nearly doubled in size. The oven was heated for an
hour before the first loaf went in. When the bread came out, the crust crackled as it cooled, and the
smell drifted down the street to the bus stop, where people looked up from their books and smiled.

Good measurements begin with a clear question. How fast does the system answer one request when it is
idle? How many requests can it finish each second when it is busy? How long does a user wait for the
first word, and how steady is the stream of words after that? Each question needs its own number, and
each number needs a note saying how it was measured, on which machine, with which settings.

A river starts as a thin stream high in the hills. It gathers water from rain and melting snow, joins
other streams, and grows wide and slow as it reaches the plain. Towns were built along its banks because
the water carried boats, turned mills and fed the farms. Bridges of stone and iron now cross it in many
places, and in summer the children swim near the old mill while their parents fish from the shore.

The library opened at nine. Students arrived with coffee and heavy bags, claimed their favourite tables,
and spread out notes, laptops and textbooks. The librarian moved quietly between the shelves, returning
books to their places and helping a visitor find an old map of the city. By noon every seat was taken,
and the only sounds were pages turning, keys tapping and the soft hum of the lights.

Speculative decoding lets a small model guess several tokens ahead while a large model checks the
guesses in one pass. When the guesses are right, many tokens are accepted at once and the answer
arrives sooner. When they are wrong, the large model keeps its own choice and the work of the small
model is lost. The benefit therefore depends on how often the two models agree, and on how cheap the
small model is compared with the large one.

On the hill above the village stood a windmill with four white sails. The miller climbed its narrow
stairs every morning to check the gears and grease the axle. On calm days the sails hung still, and the
miller mended sacks or wrote letters to his sister by the sea. On windy days the whole tower shook, the
stones ground wheat into flour, and carts waited in a line along the road to carry it to market.

Rain fell all afternoon. The gutters overflowed, the streets shone under the lamps, and umbrellas of
every colour bobbed along the pavement. In the cafe on the corner, a waiter wiped the tables and put on
another pot of tea. Two friends sat by the window, talking about travel plans, old teachers, a film they
had both seen and the best way to cook rice. Neither of them noticed when the rain finally stopped.

A careful engineer writes down what she expects before she runs the experiment. If the result matches,
she checks that the test could have failed. If it does not match, she looks for the mistake in the
setup before she doubts the theory. She repeats the run, changes one thing at a time, and keeps every
log, because the detail that seems unimportant today often explains the surprise of tomorrow.

The garden was small but full of life. Beans climbed poles along the fence, tomatoes ripened against
the warm brick wall, and bees worked through the lavender from morning until dusk. In the evening the
owner watered each bed by hand, pulled a few weeds and picked whatever was ready for dinner: a handful
of peas, two courgettes, some mint for the potatoes and a bowl of strawberries for later.

Numbers one two three four five six seven eight nine ten eleven twelve twenty thirty hundred thousand.
Days Monday Tuesday Wednesday Thursday Friday Saturday Sunday. Months January February March April May
June July August September October November December. Colours red orange yellow green blue purple black
white grey brown. Questions who what when where why how which. Answers yes no maybe always never often.

The museum kept its oldest treasures in a quiet room at the back: clay tablets covered in tiny marks,
bronze mirrors turned green with age, a wooden comb, a pair of leather sandals and a silver coin
stamped with the face of a forgotten king. Visitors leaned close to the glass, trying to imagine the
hands that had shaped, worn and lost these things thousands of years ago.

Mountain weather changes quickly. A clear blue sky at breakfast can turn to thick cloud by lunch, with
hail, thunder and a sharp drop in temperature. Experienced walkers carry a map, a compass, warm layers,
water and something to eat, and they turn back early rather than late. The summit will still be there
next week; the point of the journey is to come home safely and tell the story.

Software grows like a city. Early streets follow the easiest path, later ones fill the gaps, and after
a while nobody remembers why the main road bends around an empty field. Good maintainers draw clear
maps, remove dead ends, and keep the plumbing simple, so that newcomers can find their way without
asking for directions at every corner.

Autumn arrived with apples, mushrooms and long shadows. Leaves turned yellow, amber and deep crimson
before drifting onto the paths, where they crunched under boots and bicycle tyres. Farmers hurried to
bring in the last of the harvest, squirrels buried acorns in the lawn, and geese flew south in loose
arrows, calling to each other high above the chimneys.

The orchestra tuned its instruments while the hall filled with people. Violins, cellos, flutes, oboes,
clarinets, trumpets and a great brass tuba each found the same note, then fell silent. The conductor
raised her baton, and the first quiet chord rose like mist from a lake, growing slowly into a melody
that seemed to fill every corner of the room and every heart in the audience.

Lighthouses once needed a keeper who trimmed the wick, polished the lens and wound the clockwork that
turned the beam. During storms the keeper stayed awake all night, listening to the waves hammer the
rocks and watching for ships in distress. Today most lights are automatic, yet sailors still feel
grateful when the familiar flash appears on the horizon after a long, dark passage.

Queues form wherever demand briefly exceeds supply: at a ticket office before a concert, at a bakery on
Saturday morning, or inside a server when requests arrive faster than they can be processed. The
average arrival rate tells only part of the story. Bursts matter, because a sudden crowd creates a
long line even when the counter is idle most of the day, and waiting time grows sharply as load
approaches capacity.

Chess players study openings, middle games and endings. A quiet pawn move may prepare an attack twenty
turns later, while a brilliant sacrifice can collapse if the opponent finds one precise defence. The
best players calculate deeply, but they also trust pattern, judgement and patience, and they review
their lost games more carefully than their victories.

The island ferry carried cars, bicycles, sheep, post, groceries and a handful of tourists wrapped in
bright jackets. Gulls followed the wake, hoping for crumbs. The captain knew every rock and current in
the sound, and she greeted the harbour master by name as the ramp came down onto the slippery quay.

Astronomers measure distances with patience and clever geometry. Nearby stars shift slightly against
distant ones as the earth travels around the sun, and that tiny wobble reveals how far away they are.
Farther out, the brightness of certain pulsing stars and exploding stars acts as a ruler, letting
scientists map galaxies whose light left them long before the first people looked up at the sky.
"""


@dataclass(frozen=True, slots=True)
class TinyModels:
    """Directories of the built-in models; each holds the shared tokenizer too."""

    target: Path
    draft: Path


def default_cache_dir() -> Path:
    """$SPECBENCH_CACHE, else $XDG_CACHE_HOME/specbench, else ~/.cache/specbench."""
    if explicit := os.environ.get("SPECBENCH_CACHE"):
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "specbench"


def ensure_tiny_models(cache_dir: Path | None = None) -> TinyModels:
    """Return the built-in target and draft, building them once into the cache."""
    root = (cache_dir or default_cache_dir()) / f"tiny-models-v{TINY_MODEL_VERSION}"
    models = TinyModels(target=root / "target", draft=root / "draft")
    if root.exists():
        if not all((path / "config.json").is_file() for path in (models.target, models.draft)):
            raise ConfigError(f"the cached tiny model in {root} is incomplete: delete it and rerun")
        return models
    try:
        root.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise ConfigError(
            f"the model cache {root.parent} cannot be a directory: a file is in its place or its path; "
            "point SPECBENCH_CACHE at a directory"
        ) from None
    except PermissionError:
        raise ConfigError(
            f"cannot create the model cache {root.parent}: point SPECBENCH_CACHE at a writable directory"
        ) from None
    # Build beside the final directory and rename it into place in one step: a killed build leaves
    # only a hidden temp directory, and of two concurrent builders the second rename fails harmlessly.
    staging = Path(tempfile.mkdtemp(prefix=f".{root.name}.", dir=root.parent))
    try:
        for name, layers in (("target", TARGET_LAYERS), ("draft", DRAFT_LAYERS)):
            build_tiny_model(staging / name, num_layers=layers, hidden_size=HIDDEN_SIZE, seed=SEED)
        staging.chmod(0o755)  # mkdtemp makes it private; the cache may be shared (SPECBENCH_CACHE)
        try:
            staging.rename(root)
        except OSError:
            if not root.exists():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return models


def build_tiny_model(
    out_dir: Path,
    *,
    num_layers: int,
    hidden_size: int,
    seed: int,
    head_dim: int = HEAD_DIM,
    max_position_embeddings: int = MAX_POSITIONS,
    residual_scale: float = RESIDUAL_SCALE,
    dtype: str = "bfloat16",
    vocab_size: int = VOCAB_SIZE,
) -> Path:
    """Write a random-weight Llama plus the built-in tokenizer to out_dir and return it.

    Every weight is drawn from a generator seeded by (seed, parameter name), so a shallower model
    with the same seed and width is exactly the deeper one with its top layers removed. Weights are
    stored in `dtype`; bfloat16 suits GPUs and vLLM's CPU backend, which casts float32 down anyway.
    A smaller `vocab_size` (at least the 259 byte and special tokens) gives a model whose vocabulary is
    smaller than most, for tests of clients that must not assume token ids of a big one.
    """
    if hidden_size % head_dim or hidden_size < head_dim:
        raise ConfigError(f"hidden_size {hidden_size} must be a multiple of head_dim {head_dim}")
    if num_layers < 1:
        raise ConfigError(f"num_layers must be at least 1, got {num_layers}")
    if dtype not in ("bfloat16", "float16", "float32"):
        raise ConfigError(f"dtype must be bfloat16, float16 or float32, got {dtype!r}")
    _require_model_libraries()
    import torch
    import transformers

    tokenizer = build_tiny_tokenizer(vocab_size)
    num_heads = hidden_size // head_dim
    config = transformers.LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=3 * hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        # Grouped-query attention as in current models, when there are heads enough to group.
        num_key_value_heads=num_heads // 2 if num_heads % 2 == 0 else num_heads,
        head_dim=head_dim,
        max_position_embeddings=max_position_embeddings,
        initializer_range=INIT_STD,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
        dtype=dtype,
    )
    model = transformers.LlamaForCausalLM(config)
    _seed_weights(model, seed=seed, residual_scale=residual_scale)
    # Drawn in float32 whatever the dtype, so the same seed gives the same weights up to rounding.
    model.to(getattr(torch, dtype))
    model.generation_config = transformers.GenerationConfig(
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    # Transformers draws a progress bar while saving; specbench's own display is the only one.
    bars_were_on = transformers.utils.logging.is_progress_bar_enabled()
    transformers.utils.logging.disable_progress_bar()
    try:
        model.save_pretrained(out_dir)
    finally:
        if bars_were_on:
            transformers.utils.logging.enable_progress_bar()
    tokenizer.save_pretrained(out_dir)
    _name_portable_tokenizer_class(out_dir / "tokenizer_config.json")
    return out_dir


def build_tiny_tokenizer(vocab_size: int = VOCAB_SIZE) -> PreTrainedTokenizerFast:
    """Train the byte-level BPE tokenizer on the built-in corpus (deterministic, a few ms)."""
    _require_model_libraries()
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[PAD_TOKEN, BOS_TOKEN, EOS_TOKEN],
        # Every byte gets a token, so any text (and any random id's bytes) round-trips.
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(_CORPUS.split("\n\n"), trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        bos_token=BOS_TOKEN,
        eos_token=EOS_TOKEN,
        pad_token=PAD_TOKEN,
        model_max_length=MAX_POSITIONS,
    )


def _name_portable_tokenizer_class(path: Path) -> None:
    # Transformers 5 writes its new class name, which Transformers 4 cannot resolve; both resolve this.
    settings = json.loads(path.read_text(encoding="utf-8"))
    settings["tokenizer_class"] = "PreTrainedTokenizerFast"
    path.write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")


def _seed_weights(model: PreTrainedModel, *, seed: int, residual_scale: float) -> None:
    import torch

    with torch.no_grad():
        for name, param in model.named_parameters():
            if param.ndim == 1:  # RMSNorm gains
                param.fill_(1.0)
                continue
            key = hashlib.blake2b(f"{seed}/{name}".encode(), digest_size=8).digest()
            generator = torch.Generator().manual_seed(int.from_bytes(key, "little"))
            std = INIT_STD * (residual_scale if name.endswith(("o_proj.weight", "down_proj.weight")) else 1.0)
            param.copy_(torch.randn(param.shape, generator=generator) * std)


def _require_model_libraries() -> None:
    try:
        import tokenizers  # noqa: F401
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError as exc:
        raise ConfigError(
            f"the built-in tiny model needs torch, transformers and tokenizers ({exc.name} is missing): "
            "pip install 'specbench[transformers]', or pass --model DIR"
        ) from exc
