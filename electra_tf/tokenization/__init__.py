"""WordPiece vocabularies and the tokenizer shared by data building, fine-tuning and serving."""

from electra_tf.tokenization.tokenizer import WordPieceTokenizer
from electra_tf.tokenization.vocab_learner import learn_wordpiece_vocab
from electra_tf.tokenization.vocabulary import SPECIAL_TOKENS, Vocabulary

__all__ = ["SPECIAL_TOKENS", "Vocabulary", "WordPieceTokenizer", "learn_wordpiece_vocab"]
