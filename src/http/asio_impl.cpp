// The single translation unit that compiles Boost.Asio and Boost.Beast (separate compilation keeps
// every other file from re-instantiating them, which is most of a clean build's time).
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
