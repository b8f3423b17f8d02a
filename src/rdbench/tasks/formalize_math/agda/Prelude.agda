-- The prelude of formalize_math: every formal statement and proof is checked against this module.
-- The scorer uses its own copy; a file that redefines these names proves something else.
module Prelude where

open import Agda.Primitive public using (Level; lzero; lsuc; _⊔_)

infix 4 _≡_
infixl 6 _+_
infixl 7 _*_
infixr 5 _∷_ _++_

-- Propositional equality.
data _≡_ {a : Level} {A : Set a} (x : A) : A → Set a where
  refl : x ≡ x

sym : {a : Level} {A : Set a} {x y : A} → x ≡ y → y ≡ x
sym refl = refl

trans : {a : Level} {A : Set a} {x y z : A} → x ≡ y → y ≡ z → x ≡ z
trans refl eq = eq

cong : {a b : Level} {A : Set a} {B : Set b} (f : A → B) {x y : A} → x ≡ y → f x ≡ f y
cong f refl = refl

-- Natural numbers (numerals such as 3 stand for suc (suc (suc zero))).
data ℕ : Set where
  zero : ℕ
  suc  : ℕ → ℕ
{-# BUILTIN NATURAL ℕ #-}

_+_ : ℕ → ℕ → ℕ
zero  + n = n
suc m + n = suc (m + n)
{-# BUILTIN NATPLUS _+_ #-}

_*_ : ℕ → ℕ → ℕ
zero  * n = zero
suc m * n = n + m * n
{-# BUILTIN NATTIMES _*_ #-}

-- Parity, as inductive predicates.
data Even : ℕ → Set where
  even-zero : Even zero
  even-ss   : {n : ℕ} → Even n → Even (suc (suc n))

data Odd : ℕ → Set where
  odd-one : Odd (suc zero)
  odd-ss  : {n : ℕ} → Odd n → Odd (suc (suc n))

-- Lists.
data List (A : Set) : Set where
  []  : List A
  _∷_ : A → List A → List A

_++_ : {A : Set} → List A → List A → List A
[]       ++ ys = ys
(x ∷ xs) ++ ys = x ∷ (xs ++ ys)

length : {A : Set} → List A → ℕ
length []       = zero
length (x ∷ xs) = suc (length xs)

reverse : {A : Set} → List A → List A
reverse []       = []
reverse (x ∷ xs) = reverse xs ++ (x ∷ [])
